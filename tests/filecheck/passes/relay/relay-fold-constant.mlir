// RUN: xtvm-opt %s -p relay-fold-constant | filecheck %s

// A constant chain collapses into one constant; dead inputs disappear; the op with a
// non-constant operand stays.
// CHECK-LABEL: func.func @chain
// CHECK-NEXT:    %m = relay.constant dense<[6.000000e+00, 8.000000e+00, 1.000000e+01]> : tensor<3xf32>
// CHECK-NEXT:    %n = relay.subtract %x, %m
// CHECK-NEXT:    func.return %n
func.func @chain(%x: tensor<3xf32>) -> tensor<3xf32> {
  %a = relay.constant dense<[1.0, 2.0, 3.0]> : tensor<3xf32>
  %b = relay.constant dense<2.0> : tensor<3xf32>
  %s = relay.add %a, %b : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  %m = relay.multiply %s, %b : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  %n = relay.subtract %x, %m : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  func.return %n : tensor<3xf32>
}

// Integer division truncates toward zero (-3 / 2 = -1, -3 / 4 = 0); shape ops fold too.
// CHECK-LABEL: func.func @shape_ints
// CHECK-NEXT:    %t = relay.constant dense<{{\[}}[10, 3], [-1, 0]]> : tensor<2x2xi64>
// CHECK-NEXT:    func.return %t
func.func @shape_ints() -> tensor<2x2xi64> {
  %a = relay.constant dense<[[1, 2], [3, 4]]> : tensor<2x2xi64>
  %b = relay.constant dense<[10, -3]> : tensor<2xi64>
  %d = relay.divide %b, %a : (tensor<2xi64>, tensor<2x2xi64>) -> tensor<2x2xi64>
  %t = relay.transpose %d {axes = array<i64: 1, 0>} : (tensor<2x2xi64>) -> tensor<2x2xi64>
  func.return %t : tensor<2x2xi64>
}

// CHECK-LABEL: func.func @bn
// CHECK-NEXT:    %wbn = relay.constant dense<{{\[\[\[\[}}5.000000e-01]], {{\[\[}}-2.000000e+00]]]]> : tensor<1x2x1x1xf32>
// CHECK-NEXT:    %y = relay.add %x, %wbn
// CHECK-NEXT:    func.return
func.func @bn(%x: tensor<1x2x1x1xf32>) -> tensor<1x2x1x1xf32> {
  %w = relay.constant dense<[[[[1.0]], [[-2.0]]]]> : tensor<1x2x1x1xf32>
  %g = relay.constant dense<[2.0, 1.0]> : tensor<2xf32>
  %bt = relay.constant dense<[0.5, 0.0]> : tensor<2xf32>
  %mn = relay.constant dense<[1.0, 0.0]> : tensor<2xf32>
  %v = relay.constant dense<[3.0, 0.0]> : tensor<2xf32>
  %wbn = relay.batch_norm %w, %g, %bt, %mn, %v {epsilon = 1.0 : f32} : (tensor<1x2x1x1xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x1x1xf32>
  %y = relay.add %x, %wbn : (tensor<1x2x1x1xf32>, tensor<1x2x1x1xf32>) -> tensor<1x2x1x1xf32>
  func.return %y : tensor<1x2x1x1xf32>
}

// A group whose inputs are all constants folds as a whole; ops inside groups are untouched.
// CHECK-LABEL: func.func @fused
// CHECK-NEXT:    %f = relay.constant dense<[0.000000e+00, 4.000000e+00]> : tensor<2xf32>
// CHECK-NEXT:    %g = relay.fused "fused_add" (%x)
// CHECK-NEXT:    ^bb0(%a: tensor<2xf32>):
// CHECK-NEXT:      %k = relay.constant dense<1.000000e+00> : tensor<2xf32>
// CHECK-NEXT:      %e = relay.exp %k : tensor<2xf32>
// CHECK:         func.return %f, %g
func.func @fused(%x: tensor<2xf32>) -> (tensor<2xf32>, tensor<2xf32>) {
  %c = relay.constant dense<[-1.0, 4.0]> : tensor<2xf32>
  %f = relay.fused "fused_relu" (%c) : (tensor<2xf32>) -> (tensor<2xf32>) {
  ^bb0(%a: tensor<2xf32>):
    %r = relay.relu %a : tensor<2xf32>
    relay.yield %r : tensor<2xf32>
  }
  %g = relay.fused "fused_add" (%x) : (tensor<2xf32>) -> (tensor<2xf32>) {
  ^bb0(%a: tensor<2xf32>):
    %k = relay.constant dense<1.0> : tensor<2xf32>
    %e = relay.exp %k : tensor<2xf32>
    %s = relay.add %a, %e : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
    relay.yield %s : tensor<2xf32>
  }
  func.return %f, %g : tensor<2xf32>, tensor<2xf32>
}

// Identical constants are merged.
// CHECK-LABEL: func.func @dedupe
// CHECK-NEXT:    %a = relay.constant dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32>
// CHECK-NEXT:    %s = relay.add %x, %a
// CHECK-NEXT:    %t = relay.add %s, %a
// CHECK-NEXT:    func.return %t
func.func @dedupe(%x: tensor<2xf32>) -> tensor<2xf32> {
  %a = relay.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %b = relay.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %s = relay.add %x, %a : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %t = relay.add %s, %b : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  func.return %t : tensor<2xf32>
}
