// RUN: xtvm-opt %s | xtvm-opt | filecheck %s
// RUN: xtvm-opt %s --print-op-generic | xtvm-opt | filecheck %s

// CHECK-LABEL: func.func @elementwise
func.func @elementwise(%a: tensor<2x3xf32>, %b: tensor<3xf32>) -> tensor<2x3xf32> {
  // CHECK: %c = relay.constant dense<[1.000000e+00, 2.000000e+00, 3.000000e+00]> : tensor<3xf32>
  %c = relay.constant dense<[1.0, 2.0, 3.0]> : tensor<3xf32>
  // CHECK: %ci = relay.constant dense<[1, 2]> : tensor<2xi64> {xtvm.note = "shape"}
  %ci = relay.constant dense<[1, 2]> : tensor<2xi64> {xtvm.note = "shape"}
  // CHECK: %0 = relay.add %a, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %0 = relay.add %a, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  // CHECK: %1 = relay.subtract %0, %c : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %1 = relay.subtract %0, %c : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  // CHECK: %2 = relay.multiply %1, %a : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %2 = relay.multiply %1, %a : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: %3 = relay.divide %2, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %3 = relay.divide %2, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  // CHECK: %4 = relay.maximum %3, %a : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %4 = relay.maximum %3, %a : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: %5 = relay.minimum %4, %a : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %5 = relay.minimum %4, %a : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: %6 = relay.relu %5 : tensor<2x3xf32>
  %6 = relay.relu %5 : tensor<2x3xf32>
  // CHECK: %7 = relay.sigmoid %6 : tensor<2x3xf32>
  %7 = relay.sigmoid %6 : tensor<2x3xf32>
  // CHECK: %8 = relay.tanh %7 : tensor<2x3xf32>
  %8 = relay.tanh %7 : tensor<2x3xf32>
  // CHECK: %9 = relay.exp %8 : tensor<2x3xf32>
  %9 = relay.exp %8 : tensor<2x3xf32>
  // CHECK: %10 = relay.clip %9 {a_min = -1.000000e+00 : f32, a_max = 6.000000e+00 : f32} : tensor<2x3xf32>
  %10 = relay.clip %9 {a_min = -1.0 : f32, a_max = 6.0 : f32} : tensor<2x3xf32>
  func.return %10 : tensor<2x3xf32>
}

// CHECK-LABEL: func.func @nn
func.func @nn(%x: tensor<1x4x8x8xf32>, %w: tensor<8x2x3x3xf32>, %p: tensor<8xf32>) -> tensor<1x8x4x4xf32> {
  // CHECK: %c = relay.conv2d %x, %w {strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>, dilation = array<i64: 1, 1>, groups = 2 : i64} : (tensor<1x4x8x8xf32>, tensor<8x2x3x3xf32>) -> tensor<1x8x4x4xf32>
  %c = relay.conv2d %x, %w {strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>, dilation = array<i64: 1, 1>, groups = 2 : i64} : (tensor<1x4x8x8xf32>, tensor<8x2x3x3xf32>) -> tensor<1x8x4x4xf32>
  // CHECK: %bn = relay.batch_norm %c, %p, %p, %p, %p {epsilon = 1.000000e-05 : f32} : (tensor<1x8x4x4xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<1x8x4x4xf32>
  %bn = relay.batch_norm %c, %p, %p, %p, %p {epsilon = 1.0e-05 : f32} : (tensor<1x8x4x4xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<1x8x4x4xf32>
  // CHECK: %mp = relay.max_pool2d %bn {pool_size = array<i64: 3, 3>, strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>, dilation = array<i64: 1, 1>, ceil_mode = 1 : i64} : (tensor<1x8x4x4xf32>) -> tensor<1x8x3x3xf32>
  %mp = relay.max_pool2d %bn {pool_size = array<i64: 3, 3>, strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>, dilation = array<i64: 1, 1>, ceil_mode = 1 : i64} : (tensor<1x8x4x4xf32>) -> tensor<1x8x3x3xf32>
  // CHECK: %ap = relay.avg_pool2d %bn {pool_size = array<i64: 2, 2>, strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 1, 1>, dilation = array<i64: 1, 1>, ceil_mode = 0 : i64, count_include_pad = 1 : i64} : (tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32>
  %ap = relay.avg_pool2d %bn {pool_size = array<i64: 2, 2>, strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 1, 1>, dilation = array<i64: 1, 1>, ceil_mode = 0 : i64, count_include_pad = 1 : i64} : (tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32>
  // CHECK: %gp = relay.global_avg_pool2d %mp : (tensor<1x8x3x3xf32>) -> tensor<1x8x1x1xf32>
  %gp = relay.global_avg_pool2d %mp : (tensor<1x8x3x3xf32>) -> tensor<1x8x1x1xf32>
  // CHECK: %sm = relay.softmax %ap {axis = 1 : i64} : (tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32>
  %sm = relay.softmax %ap {axis = 1 : i64} : (tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32>
  func.return %sm : tensor<1x8x4x4xf32>
}

// CHECK-LABEL: func.func @matmul
func.func @matmul(%x: tensor<2x5x8xf32>, %w: tensor<16x8xf32>, %y: tensor<5x3xf32>) -> tensor<2x5x3xf32> {
  // CHECK: %d = relay.dense %x, %w : (tensor<2x5x8xf32>, tensor<16x8xf32>) -> tensor<2x5x16xf32>
  %d = relay.dense %x, %w : (tensor<2x5x8xf32>, tensor<16x8xf32>) -> tensor<2x5x16xf32>
  // CHECK: %m = relay.batch_matmul %x, %x2 : (tensor<2x5x8xf32>, tensor<2x8x3xf32>) -> tensor<2x5x3xf32>
  %x2 = relay.constant dense<0.5> : tensor<2x8x3xf32>
  %m = relay.batch_matmul %x, %x2 : (tensor<2x5x8xf32>, tensor<2x8x3xf32>) -> tensor<2x5x3xf32>
  // CHECK: %b = relay.batch_matmul %m, %y3 : (tensor<2x5x3xf32>, tensor<3x3xf32>) -> tensor<2x5x3xf32>
  %y3 = relay.constant dense<1.0> : tensor<3x3xf32>
  %b = relay.batch_matmul %m, %y3 : (tensor<2x5x3xf32>, tensor<3x3xf32>) -> tensor<2x5x3xf32>
  func.return %b : tensor<2x5x3xf32>
}

// CHECK-LABEL: func.func @shapes
func.func @shapes(%x: tensor<2x3x4xf32>, %y: tensor<2x5x4xf32>) -> tensor<4x16xf32> {
  // CHECK: %r = relay.reshape %x : (tensor<2x3x4xf32>) -> tensor<6x4xf32>
  %r = relay.reshape %x : (tensor<2x3x4xf32>) -> tensor<6x4xf32>
  // CHECK: %f = relay.flatten %y {axis = 2 : i64} : (tensor<2x5x4xf32>) -> tensor<10x4xf32>
  %f = relay.flatten %y {axis = 2 : i64} : (tensor<2x5x4xf32>) -> tensor<10x4xf32>
  // CHECK: %t = relay.transpose %x {axes = array<i64: 2, 0, 1>} : (tensor<2x3x4xf32>) -> tensor<4x2x3xf32>
  %t = relay.transpose %x {axes = array<i64: 2, 0, 1>} : (tensor<2x3x4xf32>) -> tensor<4x2x3xf32>
  // CHECK: %c = relay.concatenate %r, %f {axis = 0 : i64} : (tensor<6x4xf32>, tensor<10x4xf32>) -> tensor<16x4xf32>
  %c = relay.concatenate %r, %f {axis = 0 : i64} : (tensor<6x4xf32>, tensor<10x4xf32>) -> tensor<16x4xf32>
  // CHECK: %o = relay.transpose %c {axes = array<i64: 1, 0>} : (tensor<16x4xf32>) -> tensor<4x16xf32>
  %o = relay.transpose %c {axes = array<i64: 1, 0>} : (tensor<16x4xf32>) -> tensor<4x16xf32>
  func.return %o : tensor<4x16xf32>
}

// CHECK-LABEL: func.func @fused
func.func @fused(%x: tensor<4xf32>) -> tensor<4xf32> {
  %w = relay.constant dense<2.0> : tensor<4xf32>
  // CHECK: %g = relay.fused "fused_multiply_relu" (%x, %w) : (tensor<4xf32>, tensor<4xf32>) -> (tensor<4xf32>) {
  // CHECK-NEXT: ^bb0(%a: tensor<4xf32>, %b: tensor<4xf32>):
  // CHECK-NEXT:   %m = relay.multiply %a, %b : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  // CHECK-NEXT:   %r = relay.relu %m : tensor<4xf32>
  // CHECK-NEXT:   relay.yield %r : tensor<4xf32>
  // CHECK-NEXT: }
  %g = relay.fused "fused_multiply_relu" (%x, %w) : (tensor<4xf32>, tensor<4xf32>) -> (tensor<4xf32>) {
  ^bb0(%a: tensor<4xf32>, %b: tensor<4xf32>):
    %m = relay.multiply %a, %b : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
    %r = relay.relu %m : tensor<4xf32>
    relay.yield %r : tensor<4xf32>
  }
  // CHECK: %h, %h_1 = relay.fused "two_outputs" (%g) : (tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  // CHECK: relay.yield %e, %t : tensor<4xf32>, tensor<4xf32>
  // CHECK-NEXT: } attributes {xtvm.tag = "t"}
  %h:2 = relay.fused "two_outputs" (%g) : (tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  ^bb0(%a: tensor<4xf32>):
    %e = relay.exp %a : tensor<4xf32>
    %t = relay.tanh %a : tensor<4xf32>
    relay.yield %e, %t : tensor<4xf32>, tensor<4xf32>
  } attributes {xtvm.tag = "t"}
  // CHECK: func.return %h_1 : tensor<4xf32>
  func.return %h#1 : tensor<4xf32>
}
