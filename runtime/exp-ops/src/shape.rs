//! Tensor shapes over symbolic dims, and the shape rules of the combinators that the
//! checker handles itself: residual addition (broadcasting) and concatenation.

use std::fmt::{self, Display, Formatter};

use serde::{Deserialize, Serialize};

use crate::{Dim, ShapeError};

/// A tensor shape: one [`Dim`] per axis, batch first by convention (`[B, C, H, W]`).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default, Serialize, Deserialize)]
pub struct Shape(pub Vec<Dim>);

impl Shape {
    /// The shape with the given dims.
    pub fn new(dims: impl IntoIterator<Item = Dim>) -> Shape {
        Shape(dims.into_iter().collect())
    }

    /// Number of axes.
    pub fn rank(&self) -> usize {
        self.0.len()
    }

    /// Total number of elements: the product of all dims (`1` for a scalar).
    pub fn numel(&self) -> Dim {
        self.0.iter().cloned().fold(Dim::constant(1), |acc, d| acc * d)
    }

    /// Parses `[B, 2 * p]` (the `Display` form); `[]` is the scalar shape.
    pub fn parse(text: &str) -> Result<Shape, String> {
        let inner = text
            .trim()
            .strip_prefix('[')
            .and_then(|t| t.strip_suffix(']'))
            .ok_or_else(|| format!("expected a shape in brackets like `[B, 10]`, found `{text}`"))?;
        if inner.trim().is_empty() {
            return Ok(Shape::default());
        }
        // Dims contain no commas, so a plain split finds the axes.
        inner.split(',').map(Dim::parse).collect::<Result<_, _>>().map(Shape)
    }
}

impl Display for Shape {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, dim) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{dim}")?;
        }
        f.write_str("]")
    }
}

/// The shape of `a + b`: equal shapes, or NumPy broadcasting (axes aligned from the right,
/// a size `1` stretches to the other size, missing leading axes count as `1`).
///
/// Symbolic sizes broadcast only when they are equal; a symbol is never assumed to be `1`.
pub fn broadcast_add(a: &Shape, b: &Shape) -> Result<Shape, ShapeError> {
    let rank = a.rank().max(b.rank());
    let one = Dim::constant(1);
    let mut dims = Vec::with_capacity(rank);
    for i in 0..rank {
        let da = axis_from_right(a, rank - 1 - i).unwrap_or(&one);
        let db = axis_from_right(b, rank - 1 - i).unwrap_or(&one);
        let dim = if da == db || *db == one {
            da
        } else if *da == one {
            db
        } else {
            return Err(ShapeError::Broadcast { left: a.clone(), right: b.clone() });
        };
        dims.push(dim.clone());
    }
    Ok(Shape(dims))
}

/// The axis `k` places from the right, if the shape has that many axes.
fn axis_from_right(shape: &Shape, k: usize) -> Option<&Dim> {
    shape.rank().checked_sub(k + 1).map(|i| &shape.0[i])
}

/// The shape of concatenating `shapes` along `axis`: all ranks equal, all other axes
/// equal, and the sizes along `axis` summed.
pub fn concat(shapes: &[Shape], axis: usize) -> Result<Shape, ShapeError> {
    let Some(first) = shapes.first() else {
        return Err(ShapeError::EmptyConcat);
    };
    if axis >= first.rank() {
        return Err(ShapeError::AxisOutOfRange { op: "concat".into(), axis, found: first.clone() });
    }
    let mut out = first.clone();
    for other in &shapes[1..] {
        let compatible =
            other.rank() == first.rank() && (0..first.rank()).all(|i| i == axis || first.0[i] == other.0[i]);
        if !compatible {
            return Err(ShapeError::ConcatMismatch { axis, first: first.clone(), other: other.clone() });
        }
        out.0[axis] = out.0[axis].clone() + other.0[axis].clone();
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> Shape {
        Shape::parse(text).unwrap()
    }

    #[test]
    fn display_parse_round_trip() {
        for text in ["[]", "[B]", "[B, 2 * p]", "[B, C, H / 2, W / 2]", "[B, (H - 1) / 2 + 1]"] {
            assert_eq!(s(text).to_string(), text);
        }
        assert_eq!(s(" [ B ,p+p ] ").to_string(), "[B, 2 * p]");
        assert!(Shape::parse("B, 10").is_err());
        assert!(Shape::parse("[B, ]").is_err());
    }

    #[test]
    fn rank_and_numel() {
        assert_eq!(s("[B, 3, 4]").rank(), 3);
        assert_eq!(s("[B, 3, 4]").numel(), Dim::parse("12 * B").unwrap());
        assert_eq!(s("[]").numel(), Dim::constant(1));
    }

    #[test]
    fn serde_uses_text_dims() {
        let json = serde_json::to_string(&s("[B, 2 * p]")).unwrap();
        assert_eq!(json, r#"["B","2 * p"]"#);
        assert_eq!(serde_json::from_str::<Shape>(&json).unwrap(), s("[B, 2 * p]"));
        assert!(serde_json::from_str::<Shape>(r#"["B", "2 *"]"#).is_err());
    }

    #[test]
    fn broadcasting() {
        assert_eq!(broadcast_add(&s("[B, 10]"), &s("[B, 10]")).unwrap(), s("[B, 10]"));
        assert_eq!(broadcast_add(&s("[B, 10]"), &s("[10]")).unwrap(), s("[B, 10]"));
        assert_eq!(broadcast_add(&s("[B, 1, 5]"), &s("[7, 1]")).unwrap(), s("[B, 7, 5]"));
        assert_eq!(broadcast_add(&s("[]"), &s("[B, 3]")).unwrap(), s("[B, 3]"));
        let err = broadcast_add(&s("[B, 10]"), &s("[B, 20]")).unwrap_err();
        assert_eq!(err.to_string(), "cannot add `[B, 10]` and `[B, 20]`: the shapes do not broadcast");
        // A symbol might be 1 at run time, but the checker must not bet on it.
        assert!(broadcast_add(&s("[B, D]"), &s("[B, 4]")).is_err());
    }

    #[test]
    fn concatenation() {
        let out = concat(&[s("[B, 10]"), s("[B, p]"), s("[B, 2]")], 1).unwrap();
        assert_eq!(out, s("[B, p + 12]"));
        assert_eq!(concat(&[s("[B, T, D]")], 2).unwrap(), s("[B, T, D]"));
        let err = concat(&[s("[B, 10]"), s("[C, 10]")], 1).unwrap_err();
        assert_eq!(err.to_string(), "cannot concatenate `[B, 10]` and `[C, 10]` along axis 1");
        assert!(matches!(concat(&[s("[B, 1]"), s("[B, 1, 1]")], 1), Err(ShapeError::ConcatMismatch { .. })));
        assert!(matches!(concat(&[s("[B, 1]")], 2), Err(ShapeError::AxisOutOfRange { axis: 2, .. })));
        assert_eq!(concat(&[], 0), Err(ShapeError::EmptyConcat));
    }
}
