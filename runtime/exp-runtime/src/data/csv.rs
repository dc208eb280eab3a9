//! CSV files of numbers: one label column, every other column a feature.
//!
//! Fields are split on the `delimiter` string and trimmed; a field wrapped in double quotes is
//! unwrapped (quoted delimiters are not supported). Blank lines are skipped, a UTF-8 byte-order
//! mark is ignored and a gzipped file is read transparently. With a header the label column is
//! found by name; without one, `label` is the column's 0-based number (`"0"`). Features must be
//! finite numbers; labels are integers `>= 0` for classification, or one number per row for a
//! regression target of shape `[]` or `[1]`.

use super::idx::{maybe_gunzip, read_file};
use super::Dataset;
use crate::error::{Result, RunError};
use exp_ir::Target;
use std::path::Path;

/// How to read the file: the stdlib arguments other than shape, classes and the split.
pub(super) struct Options {
    /// The label column: a header name, or a column number without a header.
    pub(super) label: String,
    /// Whether the first non-blank line is a header.
    pub(super) header: bool,
    /// The field separator.
    pub(super) delimiter: String,
}

fn field(s: &str) -> &str {
    let s = s.trim();
    s.strip_prefix('"').and_then(|s| s.strip_suffix('"')).unwrap_or(s)
}

/// Reads every row of the CSV file at `path` into one dataset with samples of `shape`.
pub(super) fn read(path: &Path, opts: &Options, shape: &[usize], target: &Target) -> Result<Dataset> {
    let name = path.display();
    let text = String::from_utf8(maybe_gunzip(read_file(path)?, path)?)
        .map_err(|_| RunError::new(format!("`{name}` is not UTF-8 text")))?;
    if opts.delimiter.is_empty() {
        return Err(RunError::new("the CSV `delimiter` must not be empty"));
    }
    let regression = match target {
        Target::Classes(_) => false,
        Target::Regression(s) if s.0.len() <= 1 && s.numel().as_const() == Some(1) => true,
        Target::Regression(s) => {
            return Err(RunError::new(format!("a CSV label column gives one number per row, not targets of shape {s}")))
        }
    };
    let mut lines = text
        .trim_start_matches('\u{feff}')
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| !l.trim().is_empty());
    let split =
        |line: &str| -> Vec<String> { line.split(opts.delimiter.as_str()).map(|f| field(f).to_string()).collect() };
    let (columns, label_col) = if opts.header {
        let (_, head) = lines.next().ok_or_else(|| RunError::new(format!("`{name}` is empty")))?;
        let columns = split(head);
        let Some(at) = columns.iter().position(|c| *c == opts.label) else {
            let list: Vec<String> = columns.iter().map(|c| format!("`{c}`")).collect();
            return Err(RunError::new(format!("`{name}` has no column `{}`", opts.label)).with_help(format!(
                "its columns are {} (split on {:?})",
                list.join(", "),
                opts.delimiter
            )));
        };
        (Some(columns), at)
    } else {
        let at = opts.label.trim().parse::<usize>().map_err(|_| {
            RunError::new(format!(
                "`{name}` is read without a header, so `label` must be a column number, found `{}`",
                opts.label
            ))
            .with_help("write `label: \"0\"` for the first column, or set `header: true`")
        })?;
        (None, at)
    };
    let want: usize = shape.iter().product();
    let mut ds = Dataset { sample_shape: shape.to_vec(), ..Dataset::default() };
    if regression {
        ds.target_shape = Some(match target {
            Target::Regression(s) => vec![1; s.0.len()],
            Target::Classes(_) => Vec::new(),
        });
    }
    let mut ncols = columns.as_ref().map(Vec::len);
    for (line_no, line) in lines {
        let fields = split(line);
        let cols = *ncols.get_or_insert(fields.len());
        if fields.len() != cols {
            return Err(RunError::new(format!(
                "line {line_no} of `{name}` has {} fields, but {} has {cols}",
                fields.len(),
                if opts.header { "the header" } else { "the first row" }
            )));
        }
        if label_col >= cols {
            return Err(RunError::new(format!("`{name}` has {cols} columns, so there is no label column {label_col}")));
        }
        if cols - 1 != want {
            return Err(RunError::new(format!(
                "`{name}` has {} feature columns, but the declared shape {shape:?} has {want} values",
                cols - 1
            ))
            .with_help(format!("declare `shape: [{}]`", cols - 1)));
        }
        let number = |col: usize| -> Result<f64> {
            let f = &fields[col];
            f.parse::<f64>().ok().filter(|v| v.is_finite()).ok_or_else(|| {
                let column = match columns.as_ref().and_then(|c| c.get(col)) {
                    Some(c) => format!("column `{c}`"),
                    None => format!("column {col}"),
                };
                RunError::new(format!("line {line_no}, {column} of `{name}`: `{f}` is not a finite number"))
                    .with_help("every field must be a number; missing values are not supported")
            })
        };
        for col in (0..cols).filter(|&c| c != label_col) {
            ds.x.push(number(col)? as f32);
        }
        let label = number(label_col)?;
        if regression {
            ds.targets.push(label as f32);
        } else if label >= 0.0 && label.fract() == 0.0 && label <= f64::from(u32::MAX) {
            ds.y.push(label as u32);
        } else {
            return Err(RunError::new(format!(
                "line {line_no} of `{name}` has label `{label}`, which is not a class id"
            ))
            .with_help("class labels must be integers 0, 1, 2, ..."));
        }
        ds.n += 1;
    }
    if ds.n == 0 {
        return Err(RunError::new(format!("`{name}` has no data rows")));
    }
    Ok(ds)
}
