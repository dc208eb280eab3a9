//! The batch stream: coverage per epoch, determinism, resume, and batch tensors.

use super::*;
use crate::data::synthetic::modular;
use crate::data::{batch_tensors, sequential_batches, BatchState, Batches, Dataset};
use candle_core::{DType as CDType, Device};

#[test]
fn every_epoch_covers_each_example_once() {
    let mut b = Batches::new(10, 3, true, 7).unwrap();
    assert_eq!(b.batches_per_epoch(), 4);
    let mut orders = Vec::new();
    for epoch in 0..3 {
        assert_eq!(b.epoch(), epoch);
        let batches: Vec<Vec<usize>> = (0..4).map(|_| b.next_batch()).collect();
        assert_eq!(batches.iter().map(Vec::len).collect::<Vec<_>>(), vec![3, 3, 3, 1]);
        let mut all: Vec<usize> = batches.concat();
        orders.push(all.clone());
        all.sort_unstable();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
    }
    assert_eq!(b.epoch(), 3);
    assert!(orders[0] != orders[1] && orders[1] != orders[2], "each epoch is reshuffled: {orders:?}");
    assert_ne!(orders[0], (0..10).collect::<Vec<_>>());

    let mut same = Batches::new(10, 3, true, 7).unwrap();
    assert_eq!((0..4).flat_map(|_| same.next_batch()).collect::<Vec<_>>(), orders[0]);
    let mut other = Batches::new(10, 3, true, 8).unwrap();
    assert_ne!((0..4).flat_map(|_| other.next_batch()).collect::<Vec<_>>(), orders[0]);
    let mut fixed = Batches::new(5, 2, false, 7).unwrap();
    let seq: Vec<Vec<usize>> = (0..4).map(|_| fixed.next_batch()).collect();
    assert_eq!(seq, vec![vec![0, 1], vec![2, 3], vec![4], vec![0, 1]]);
}

#[test]
fn resuming_from_serialized_state_continues_the_stream() {
    let mut straight = Batches::new(23, 5, true, 99).unwrap();
    let want: Vec<Vec<usize>> = (0..20).map(|_| straight.next_batch()).collect();
    for cut in [0, 3, 5, 7, 13] {
        let mut first = Batches::new(23, 5, true, 99).unwrap();
        let mut got: Vec<Vec<usize>> = (0..cut).map(|_| first.next_batch()).collect();
        let json = serde_json::to_string(&first).unwrap();
        let state: BatchState = serde_json::from_str(&json).unwrap();
        assert_eq!(&state, first.state());
        let mut resumed: Batches = serde_json::from_str(&json).unwrap();
        assert_eq!(resumed.epoch(), first.epoch());
        got.extend((cut..20).map(|_| resumed.next_batch()));
        assert_eq!(got, want, "resumed after {cut} batches");
    }
    let bad = r#"{"n":4,"batch":2,"shuffle":true,"epoch":0,"position":9,"rng":{"s0":1,"s1":3}}"#;
    assert!(serde_json::from_str::<Batches>(bad).unwrap_err().to_string().contains("past the end"));
}

#[test]
fn batch_stream_rejects_empty_inputs() {
    assert!(Batches::new(0, 4, true, 0).unwrap_err().message.contains("empty"));
    assert!(Batches::new(4, 0, true, 0).unwrap_err().message.contains("at least 1"));
    let mut p = plan("two_spirals", vec![("n", int(10))], &[2], 2);
    p.batch = 0;
    let e = Batches::for_plan(&p, &Dataset { n: 3, ..Dataset::default() }, 1).unwrap_err();
    assert_eq!(e.origin, Some(ORIGIN));
    assert_eq!(sequential_batches(5, 2).collect::<Vec<_>>(), vec![vec![0, 1], vec![2, 3], vec![4]]);
}

#[test]
fn batch_tensors_gather_rows() {
    let dev = Device::Cpu;
    let ds = Dataset {
        x: (0..12).map(|v| v as f32).collect(),
        y: vec![5, 6, 7],
        n: 3,
        sample_shape: vec![2, 2],
        ..Dataset::default()
    };
    let (x, y) = batch_tensors(&ds, &[2, 0], &dev).unwrap();
    assert_eq!((x.dims(), x.dtype()), (&[2, 2, 2][..], CDType::F32));
    assert_eq!(x.flatten_all().unwrap().to_vec1::<f32>().unwrap(), vec![8.0, 9.0, 10.0, 11.0, 0.0, 1.0, 2.0, 3.0]);
    assert_eq!((y.dims(), y.dtype()), (&[2][..], CDType::U32));
    assert_eq!(y.to_vec1::<u32>().unwrap(), vec![7, 5]);

    let reg = Dataset { y: Vec::new(), targets: vec![0.5, 1.5, 2.5], target_shape: Some(vec![1]), ..ds.clone() };
    let (_, t) = batch_tensors(&reg, &[1], &dev).unwrap();
    assert_eq!((t.dims(), t.dtype()), (&[1, 1][..], CDType::F32));
    assert_eq!(t.flatten_all().unwrap().to_vec1::<f32>().unwrap(), vec![1.5]);

    let grok = modular(5, exp_ops::ModularOp::Add, 0.5, 0).unwrap().train;
    let (ids, labels) = batch_tensors(&grok, &[0, 1, 2], &dev).unwrap();
    assert_eq!((ids.dims(), ids.dtype()), (&[3, 2][..], CDType::U32));
    let ids = ids.to_vec2::<u32>().unwrap();
    let labels = labels.to_vec1::<u32>().unwrap();
    assert!(ids.iter().zip(&labels).all(|(ab, c)| (ab[0] + ab[1]) % 5 == *c));

    let e = batch_tensors(&ds, &[0, 3], &dev).unwrap_err();
    assert!(e.message.contains("index 3 is out of range"), "{}", e.message);
}
