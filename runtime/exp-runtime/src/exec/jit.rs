//! Elementwise functions as compiled kernels inside autograd: a one-input [`ScalarFn`] runs as
//! a Candle custom op whose forward is the JIT-compiled function and whose backward is the
//! JIT-compiled vector-Jacobian product derived from it ([`exp_ir::derive::vjp`]). Candle's
//! autograd sees one op instead of one per scalar instruction, and each direction is a single
//! pass over memory.
//!
//! Only `f32` CPU tensors take this path; other dtypes and devices, and functions the JIT
//! rejects, use the composed path ([`crate::scalar::eval_scalar`]), which is also the
//! reference the kernels are tested against.

use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Shape, Tensor};
use exp_ir::ScalarFn;
use exp_jit::{Input, Kernel};
use std::sync::{Arc, Mutex};

/// The forward and backward kernels of one elementwise function.
#[derive(Debug)]
pub(crate) struct Compiled {
    forward: Arc<Kernel>,
    backward: Arc<Kernel>,
}

impl Compiled {
    /// Compiles `f` and its derivative; `None` when `f` does not have one input and one
    /// output or the JIT cannot compile it.
    pub(crate) fn new(f: &ScalarFn) -> Option<Compiled> {
        if f.inputs.len() != 1 || f.outputs.len() != 1 {
            return None;
        }
        let vjp = exp_ir::derive::vjp(f)?;
        Some(Compiled { forward: exp_jit::kernel(f).ok()?, backward: exp_jit::kernel(&vjp).ok()? })
    }

    /// Applies the function to `x` with autograd, or `None` when `x` is not an `f32` CPU
    /// tensor.
    pub(crate) fn apply(self: &Arc<Self>, x: &Tensor) -> Option<candle_core::Result<Tensor>> {
        (x.dtype() == candle_core::DType::F32 && x.device().is_cpu())
            .then(|| x.contiguous()?.apply_op1(Forward(Arc::clone(self))))
    }
}

fn threads() -> usize {
    rayon::current_num_threads()
}

fn f32s<'a>(storage: &'a CpuStorage, layout: &Layout, what: &str) -> candle_core::Result<&'a [f32]> {
    let (CpuStorage::F32(v), Some((a, b))) = (storage, layout.contiguous_offsets()) else {
        candle_core::bail!("{what} needs contiguous f32 input, got {:?}", storage.dtype())
    };
    Ok(&v[a..b])
}

fn run(kernel: &Kernel, inputs: &[&[f32]], n: usize) -> candle_core::Result<CpuStorage> {
    let ins: Vec<Input<'_>> = inputs.iter().map(|s| Input::Slice(s)).collect();
    let mut outs = kernel.run_new(&ins, n, threads()).map_err(|e| candle_core::Error::Msg(e.to_string()))?;
    Ok(CpuStorage::F32(outs.swap_remove(0)))
}

impl Compiled {
    /// The gradient of the input from `x` and the output gradient `dy` (`f32`, CPU).
    pub(crate) fn vjp(self: &Arc<Self>, x: &Tensor, dy: &Tensor) -> candle_core::Result<Tensor> {
        let x = x.contiguous()?;
        // The gradient of a sum reaches here as one value broadcast to the shape: read it as
        // a scalar rather than materializing it.
        if dy.dtype() == candle_core::DType::F32 && dy.stride().iter().all(|&s| s == 0) {
            let (storage, layout) = dy.storage_and_layout();
            if let candle_core::Storage::Cpu(CpuStorage::F32(v)) = &*storage {
                let d = v[layout.start_offset()];
                drop(storage);
                return x.apply_op1_no_bwd(&ScalarBackward(Arc::clone(self), d));
            }
        }
        x.apply_op2_no_bwd(&dy.contiguous()?, &Backward(Arc::clone(self)))
    }

    /// The function applied to `x`.
    fn forward_of(&self, x: &[f32]) -> candle_core::Result<Vec<f32>> {
        let mut outs = self
            .forward
            .run_new(&[Input::Slice(x)], x.len(), threads())
            .map_err(|e| candle_core::Error::Msg(e.to_string()))?;
        Ok(outs.swap_remove(0))
    }
}

/// A compiled activation fused into the op before it (a linear layer, a convolution): the
/// op computes `z`, [`Epilogue::apply`] returns `act(z)` and keeps `z`, and in the backward
/// [`Epilogue::grad`] turns the output gradient into the gradient of `z` from the kept `z`
/// (or one the op recomputes, when a second backward finds it gone).
pub(crate) struct Epilogue {
    act: Arc<Compiled>,
    saved: Mutex<Option<Vec<f32>>>,
}

impl Epilogue {
    pub(crate) fn new(act: Arc<Compiled>) -> Epilogue {
        Epilogue { act, saved: Mutex::new(None) }
    }

    /// `act(z)`, keeping `z` for [`Epilogue::grad`].
    pub(crate) fn apply(&self, z: Vec<f32>) -> candle_core::Result<Vec<f32>> {
        let y = self.act.forward_of(&z)?;
        *self.saved.lock().unwrap_or_else(|e| e.into_inner()) = Some(z);
        Ok(y)
    }

    /// The gradient of `z` from the gradient `dy` of `act(z)`; `recompute` gives `z` when
    /// the forward's copy was already used.
    pub(crate) fn grad(
        &self,
        dy: &Tensor,
        recompute: impl FnOnce() -> candle_core::Result<Tensor>,
    ) -> candle_core::Result<Tensor> {
        let saved = self.saved.lock().unwrap_or_else(|e| e.into_inner()).take();
        let z = match saved {
            Some(z) => Tensor::from_vec(z, dy.shape(), dy.device())?,
            None => recompute()?,
        };
        z.apply_op2_no_bwd(&dy.contiguous()?, &Backward(Arc::clone(&self.act)))
    }
}

struct Forward(Arc<Compiled>);

/// `(x, dy) -> dx`.
struct Backward(Arc<Compiled>);

impl CustomOp1 for Forward {
    fn name(&self) -> &'static str {
        "exp-jit-elementwise"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = f32s(storage, layout, self.name())?;
        Ok((run(&self.0.forward, &[x], x.len())?, layout.shape().clone()))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad: &Tensor) -> candle_core::Result<Option<Tensor>> {
        Ok(Some(self.0.vjp(arg, grad)?))
    }
}

/// `x -> dx` for an output gradient that is the same value `dy` everywhere.
struct ScalarBackward(Arc<Compiled>, f32);

impl CustomOp1 for ScalarBackward {
    fn name(&self) -> &'static str {
        "exp-jit-elementwise-vjp"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = f32s(storage, layout, self.name())?;
        let mut outs = self
            .0
            .backward
            .run_new(&[Input::Slice(x), Input::Scalar(self.1)], x.len(), threads())
            .map_err(|e| candle_core::Error::Msg(e.to_string()))?;
        Ok((CpuStorage::F32(outs.swap_remove(0)), layout.shape().clone()))
    }
}

impl CustomOp2 for Backward {
    fn name(&self) -> &'static str {
        "exp-jit-elementwise-vjp"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (x, dy) = (f32s(s1, l1, self.name())?, f32s(s2, l2, self.name())?);
        if x.len() != dy.len() {
            candle_core::bail!("{}: {} inputs but {} gradients", self.name(), x.len(), dy.len())
        }
        Ok((run(&self.0.backward, &[x, dy], x.len())?, l1.shape().clone()))
    }
}
