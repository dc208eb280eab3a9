//! An inline snapshot of one printed program: the text form by example, and a failing test
//! whenever the printer's output changes.

use super::fixtures;
use crate::print;

#[test]
fn cnn_text_form() {
    insta::assert_snapshot!(print(&fixtures::cnn_batchnorm()), @r#"
    expir 1
    experiment cnn_batchnorm
    hash 149ea7f4c59efcd9

    files
      0 "examples/cnn_batchnorm/main.exp"
      1 "<std>/optim.exp"

    config
      data.augment = ["scale", "normalize"]  # from declaration
      optimizer.lr = 0.1  # from declaration
      seed = 0  # from default

    seeds 0
      init 11095654878113387366
      shuffle 15061180230698164816
      dropout 1643905961004468490
      noise 9457073664685956747
      augment 11904222223933528137
      data 10639603523942953358

    data cifar10(dir: "data/cifar-10 \"binary\"") @0:10..120
      x f32[3, 32, 32]
      target classes 10
      splits train, test
      transform scale(factor: 0.00392156862745098) @0:40..60
      transform normalize(mean: 0.5, std: 0.25) @0:70..90
      batch 64
      shuffle true

    params
      model.conv.weight : f32[16, 3, 3, 3] = kaiming_uniform(a: 2.23606797749979, fan_in: 27) @0:200..230
      model.bn.weight : f32[16] = ones @0:234..246
      model.bn.bias : f32[16] = zeros @0:234..246
      model.head.weight : f32[10, 4096] = kaiming_uniform(a: 2.23606797749979, fan_in: 4096) @0:332..342
      model.head.bias : f32[10] = bias_uniform(fan_in: 4096) @0:332..342

    buffers
      model.bn.running_mean : f32[16] = zeros @0:234..246
      model.bn.running_var : f32[16] = ones @0:234..246

    functions
      fn relu(x) -> (y) @1:0..30 {
        v0 = const 0.0
        v1 = max x, v0
        return y = v1
      }
      fn sgd_momentum(p, g, lr, momentum, buf) -> (p, buf) @1:800..900 {
        v0 = mul momentum, buf
        v1 = add v0, g
        v2 = mul lr, v1
        v3 = sub p, v2
        return p = v3, buf = v1
      }
      fn acc_gap(train_acc, test_acc) -> (gap) @0:420..450 {
        v0 = sub train_acc, test_acc
        return gap = v0
      }

    graph
      input %images : f32[B, 3, 32, 32]
      %0 = conv2d(%images, bias: false, dilation: 1, groups: 1, kernel: 3, out: 16, padding: 1, stride: 1) {weight: model.conv.weight} : f32[B, 16, 32, 32] @0:200..230
      %1 = batch_norm(%0, affine: true, eps: 1e-5, momentum: 0.1) {weight: model.bn.weight, bias: model.bn.bias, running_mean: model.bn.running_mean, running_var: model.bn.running_var} : f32[B, 16, 32, 32] @0:234..246
      %2 = elementwise @relu(%1) : f32[B, 16, 32, 32] @0:250..254
      %3 = scale(%2, factor: 0.5) : f32[B, 16, 32, 32] @0:258..270
      %4 = add(%2, %3) : f32[B, 16, 32, 32] @0:258..280
      %5 = max_pool2d(%4, kernel: 2, padding: 0, stride: 2) : f32[B, 16, 16, 16] @0:284..300
      %6 = dropout(%5, rate: 0.25) : f32[B, 16, 16, 16] @0:304..317
      %7 = flatten(%6) : f32[B, 4096] @0:321..328
      %8 = linear(%7, bias: true, out: 10) {weight: model.head.weight, bias: model.head.bias} : f32[B, 10] @0:332..342
      return %8

    loss cross_entropy(label_smoothing: 0.0) @0:345..348

    schedules

    optimizer sgd @0:350..380
      hyper lr = 0.1
      hyper momentum = 0.9
      state buf = copy g
      update @sgd_momentum
      clip value 5.0

    train
      length 10 epochs
      steps 7820
      steps_per_epoch 782
      eval_batch 500
      probe train_acc = accuracy() on train every 1 epochs @0:390..420
      probe test_acc = accuracy() on test every 1 epochs @0:400..430
      probe gap = expr @acc_gap(train_acc, test_acc) every 1 epochs @0:460..490
      stop when gap > 0.2 for 3 @0:500..530

    estimates
      param_count 41434
      memory.params 165736
      memory.buffers 128
      memory.grads 165736
      memory.optimizer_state 165736
      memory.activations 1204224
      memory.total 1701560
      flops_per_step 52480000
    "#);
}
