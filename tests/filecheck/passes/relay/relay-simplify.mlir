// RUN: xtvm-opt %s -p relay-simplify | filecheck %s

// No-op reshapes go; reshape/flatten chains become one reshape of the first input, and a
// chain back to the input's shape disappears.
// CHECK-LABEL: func.func @reshapes
// CHECK-NEXT:    %g = relay.reshape %x : (tensor<2x3x4xf32>) -> tensor<24xf32>
// CHECK-NEXT:    func.return %x, %g
func.func @reshapes(%x: tensor<2x3x4xf32>) -> (tensor<2x3x4xf32>, tensor<24xf32>) {
  %a = relay.reshape %x : (tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  %b = relay.reshape %a : (tensor<2x3x4xf32>) -> tensor<6x4xf32>
  %c = relay.reshape %b : (tensor<6x4xf32>) -> tensor<2x3x4xf32>
  %d = relay.reshape %x : (tensor<2x3x4xf32>) -> tensor<4x6xf32>
  %e = relay.flatten %d {axis = 1 : i64} : (tensor<4x6xf32>) -> tensor<4x6xf32>
  %f = relay.flatten %e {axis = 0 : i64} : (tensor<4x6xf32>) -> tensor<1x24xf32>
  %g = relay.reshape %f : (tensor<1x24xf32>) -> tensor<24xf32>
  func.return %c, %g : tensor<2x3x4xf32>, tensor<24xf32>
}

// Identity transposes go; a transpose pair composes, or cancels.
// CHECK-LABEL: func.func @transposes
// CHECK-NEXT:    %c = relay.transpose %x {axes = array<i64: 2, 0, 1>} : (tensor<2x3x4xf32>) -> tensor<4x2x3xf32>
// CHECK-NEXT:    func.return %x, %c
func.func @transposes(%x: tensor<2x3x4xf32>) -> (tensor<2x3x4xf32>, tensor<4x2x3xf32>) {
  %i = relay.transpose %x {axes = array<i64: 0, 1, 2>} : (tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  %a = relay.transpose %i {axes = array<i64: 1, 0, 2>} : (tensor<2x3x4xf32>) -> tensor<3x2x4xf32>
  %b = relay.transpose %a {axes = array<i64: 1, 0, 2>} : (tensor<3x2x4xf32>) -> tensor<2x3x4xf32>
  %t = relay.transpose %x {axes = array<i64: 2, 1, 0>} : (tensor<2x3x4xf32>) -> tensor<4x3x2xf32>
  %c = relay.transpose %t {axes = array<i64: 0, 2, 1>} : (tensor<4x3x2xf32>) -> tensor<4x2x3xf32>
  func.return %b, %c : tensor<2x3x4xf32>, tensor<4x2x3xf32>
}

// x*1, 1*x, x/1, x+0, 0+x, x-0 are x; a neutral constant that broadcasts x stays, and so do
// 0-x and 1/x.
// CHECK-LABEL: func.func @neutral
// CHECK-NEXT:    %one = relay.constant dense<1.000000e+00> : tensor<3xf32>
// CHECK-NEXT:    %zero = relay.constant dense<0.000000e+00> : tensor<1xf32>
// CHECK-NEXT:    %big = relay.constant dense<1.000000e+00> : tensor<2x3xf32>
// CHECK-NEXT:    %bc = relay.multiply %x, %big : (tensor<3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %n = relay.subtract %zero, %x
// CHECK-NEXT:    %r = relay.divide %one, %n
// CHECK-NEXT:    func.return %x, %bc, %r
func.func @neutral(%x: tensor<3xf32>) -> (tensor<3xf32>, tensor<2x3xf32>, tensor<3xf32>) {
  %one = relay.constant dense<1.0> : tensor<3xf32>
  %zero = relay.constant dense<0.0> : tensor<1xf32>
  %big = relay.constant dense<1.0> : tensor<2x3xf32>
  %a = relay.multiply %x, %one : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  %b = relay.multiply %one, %a : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  %c = relay.divide %b, %one : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  %d = relay.add %c, %zero : (tensor<3xf32>, tensor<1xf32>) -> tensor<3xf32>
  %e = relay.add %zero, %d : (tensor<1xf32>, tensor<3xf32>) -> tensor<3xf32>
  %f = relay.subtract %e, %zero : (tensor<3xf32>, tensor<1xf32>) -> tensor<3xf32>
  %bc = relay.multiply %f, %big : (tensor<3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %n = relay.subtract %zero, %f : (tensor<1xf32>, tensor<3xf32>) -> tensor<3xf32>
  %r = relay.divide %one, %n : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  func.return %f, %bc, %r : tensor<3xf32>, tensor<2x3xf32>, tensor<3xf32>
}

// Integer neutral elements work the same way; a non-uniform constant is not neutral.
// CHECK-LABEL: func.func @ints
// CHECK-NEXT:    %k = relay.constant dense<[1, 2]> : tensor<2xi64>
// CHECK-NEXT:    %b = relay.multiply %x, %k
// CHECK-NEXT:    func.return %b
func.func @ints(%x: tensor<2xi64>) -> tensor<2xi64> {
  %one = relay.constant dense<1> : tensor<2xi64>
  %k = relay.constant dense<[1, 2]> : tensor<2xi64>
  %a = relay.multiply %one, %x : (tensor<2xi64>, tensor<2xi64>) -> tensor<2xi64>
  %b = relay.multiply %a, %k : (tensor<2xi64>, tensor<2xi64>) -> tensor<2xi64>
  func.return %b : tensor<2xi64>
}

// Unbounded clips go; relu(relu(x)) is one relu; maximum with zero is relu.
// CHECK-LABEL: func.func @activations
// CHECK-NEXT:    %r = relay.relu %x : tensor<4xf32>
// CHECK-NEXT:    %k = relay.clip %r {a_min = 0.000000e+00 : f32, a_max = 6.000000e+00 : f32}
// CHECK-NEXT:    %m = relay.relu %k : tensor<4xf32>
// CHECK-NEXT:    func.return %m
func.func @activations(%x: tensor<4xf32>) -> tensor<4xf32> {
  %c = relay.clip %x {a_min = -3.4028234663852886e+38 : f32, a_max = 3.4028234663852886e+38 : f32} : tensor<4xf32>
  %r = relay.relu %c : tensor<4xf32>
  %rr = relay.relu %r : tensor<4xf32>
  %k = relay.clip %rr {a_min = 0.0 : f32, a_max = 6.0 : f32} : tensor<4xf32>
  %z = relay.constant dense<0.0> : tensor<4xf32>
  %m = relay.maximum %z, %k : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  func.return %m : tensor<4xf32>
}

// A single-input concatenate is its input.
// CHECK-LABEL: func.func @concat
// CHECK-NEXT:    func.return %x
func.func @concat(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %c = relay.concatenate %x {axis = 1 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %c : tensor<2x3xf32>
}

// The inside of a fused group is left alone.
// CHECK-LABEL: func.func @fused
// CHECK:         relay.reshape %a : (tensor<2xf32>) -> tensor<2xf32>
// CHECK-NEXT:    relay.relu
// CHECK-NEXT:    relay.relu
func.func @fused(%x: tensor<2xf32>) -> tensor<2xf32> {
  %g = relay.fused "fused_reshape_relu_relu" (%x) : (tensor<2xf32>) -> (tensor<2xf32>) {
  ^bb0(%a: tensor<2xf32>):
    %r = relay.reshape %a : (tensor<2xf32>) -> tensor<2xf32>
    %s = relay.relu %r : tensor<2xf32>
    %t = relay.relu %s : tensor<2xf32>
    relay.yield %t : tensor<2xf32>
  }
  func.return %g : tensor<2xf32>
}
