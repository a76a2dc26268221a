// RUN: xtvm-opt %s --split-input-file --verify-diagnostics | filecheck %s

// CHECK: relay.conv2d: weight expects 2 input channels, data has 3
func.func @conv_channels(%x: tensor<1x3x8x8xf32>, %w: tensor<4x2x3x3xf32>) -> tensor<1x4x6x6xf32> {
  %c = relay.conv2d %x, %w {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x3x8x8xf32>, tensor<4x2x3x3xf32>) -> tensor<1x4x6x6xf32>
  func.return %c : tensor<1x4x6x6xf32>
}

// -----

// CHECK: relay.conv2d: groups=4 must divide input channels 4 and output channels 6
func.func @conv_groups(%x: tensor<1x4x8x8xf32>, %w: tensor<6x2x3x3xf32>) -> tensor<1x6x6x6xf32> {
  %c = relay.conv2d %x, %w {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, dilation = array<i64: 1, 1>, groups = 4 : i64} : (tensor<1x4x8x8xf32>, tensor<6x2x3x3xf32>) -> tensor<1x6x6x6xf32>
  func.return %c : tensor<1x6x6x6xf32>
}

// -----

// CHECK: relay.add: cannot broadcast shapes [2, 3] and [4, 3]
func.func @broadcast(%x: tensor<2x3xf32>, %y: tensor<4x3xf32>) -> tensor<2x3xf32> {
  %c = relay.add %x, %y : (tensor<2x3xf32>, tensor<4x3xf32>) -> tensor<2x3xf32>
  func.return %c : tensor<2x3xf32>
}

// -----

// CHECK: relay.reshape: cannot reshape (2, 3) to (7,)
func.func @reshape(%x: tensor<2x3xf32>) -> tensor<7xf32> {
  %r = relay.reshape %x : (tensor<2x3xf32>) -> tensor<7xf32>
  func.return %r : tensor<7xf32>
}

// -----

// CHECK: relay.transpose: axes [2, 1, 1] is not a permutation of rank 3
func.func @perm(%x: tensor<2x3x4xf32>) -> tensor<4x3x3xf32> {
  %t = relay.transpose %x {axes = array<i64: 2, 1, 1>} : (tensor<2x3x4xf32>) -> tensor<4x3x3xf32>
  func.return %t : tensor<4x3x3xf32>
}

// -----

// CHECK: relay.dense: result type tensor<2x5xf32> does not match the inferred type tensor<2x4xf32>
func.func @result_type(%x: tensor<2x8xf32>, %w: tensor<4x8xf32>) -> tensor<2x5xf32> {
  %d = relay.dense %x, %w : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x5xf32>
  func.return %d : tensor<2x5xf32>
}

// -----

// CHECK: relay.concatenate: shapes [(2, 3), (3, 4)] differ outside axis 0
func.func @concat(%x: tensor<2x3xf32>, %y: tensor<3x4xf32>) -> tensor<5x3xf32> {
  %c = relay.concatenate %x, %y {axis = 0 : i64} : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<5x3xf32>
  func.return %c : tensor<5x3xf32>
}

// -----

// CHECK: relay.batch_norm: parameters must have shape (4,), got tensor<3xf32>
func.func @bn(%x: tensor<1x4x2x2xf32>, %p: tensor<3xf32>) -> tensor<1x4x2x2xf32> {
  %b = relay.batch_norm %x, %p, %p, %p, %p {epsilon = 1.0e-05 : f32} : (tensor<1x4x2x2xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<1x4x2x2xf32>
  func.return %b : tensor<1x4x2x2xf32>
}

// -----

// CHECK: relay.max_pool2d: strides must be positive, got [0, 1]
func.func @pool(%x: tensor<1x1x4x4xf32>) -> tensor<1x1x3x3xf32> {
  %p = relay.max_pool2d %x {pool_size = array<i64: 2, 2>, strides = array<i64: 0, 1>, padding = array<i64: 0, 0, 0, 0>, dilation = array<i64: 1, 1>, ceil_mode = 0 : i64} : (tensor<1x1x4x4xf32>) -> tensor<1x1x3x3xf32>
  func.return %p : tensor<1x1x3x3xf32>
}

// -----

// CHECK: relay.softmax: axis 2 out of range for rank 2
func.func @softmax(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %s = relay.softmax %x {axis = 2 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %s : tensor<2x3xf32>
}

// -----

// CHECK: relay.clip: a_min must not exceed a_max
func.func @clip(%x: tensor<2xf32>) -> tensor<2xf32> {
  %s = relay.clip %x {a_min = 1.0 : f32, a_max = 0.0 : f32} : tensor<2xf32>
  func.return %s : tensor<2xf32>
}

// -----

// CHECK: relay.relu: expects a floating-point tensor
func.func @relu_int(%x: tensor<2xi32>) -> tensor<2xi32> {
  %s = relay.relu %x : tensor<2xi32>
  func.return %s : tensor<2xi32>
}

// -----

// CHECK: relay.batch_matmul: inner dims differ: (2, 3) x (4, 5)
func.func @matmul(%x: tensor<2x3xf32>, %y: tensor<4x5xf32>) -> tensor<2x5xf32> {
  %s = relay.batch_matmul %x, %y : (tensor<2x3xf32>, tensor<4x5xf32>) -> tensor<2x5xf32>
  func.return %s : tensor<2x5xf32>
}

// -----

// CHECK: relay.fused: block argument types must match the input types
func.func @fused_types(%x: tensor<4xf32>) -> tensor<4xf32> {
  %g = relay.fused "k" (%x) : (tensor<4xf32>) -> (tensor<4xf32>) {
  ^bb0(%a: tensor<3xf32>):
    relay.yield %a : tensor<3xf32>
  }
  func.return %g : tensor<4xf32>
}

// -----

// CHECK: relay.fused: yielded types must match the result types
func.func @fused_yield(%x: tensor<4xf32>) -> tensor<4xf32> {
  %g = relay.fused "k" (%x) : (tensor<4xf32>) -> (tensor<4xf32>) {
  ^bb0(%a: tensor<4xf32>):
    %e = relay.exp %a : tensor<4xf32>
    relay.yield %e, %e : tensor<4xf32>, tensor<4xf32>
  }
  func.return %g : tensor<4xf32>
}

// -----

// CHECK: Operation using value defined out of its IsolatedFromAbove parent
func.func @fused_above(%x: tensor<4xf32>) -> tensor<4xf32> {
  %g = relay.fused "k" () : () -> (tensor<4xf32>) {
    %e = relay.exp %x : tensor<4xf32>
    relay.yield %e : tensor<4xf32>
  }
  func.return %g : tensor<4xf32>
}

// -----

// CHECK: relay.constant: value type must equal the result type
func.func @const(%x: tensor<4xf32>) -> tensor<4xf32> {
  %c = "relay.constant"() <{value = dense<1.0> : tensor<3xf32>}> : () -> tensor<4xf32>
  func.return %c : tensor<4xf32>
}
