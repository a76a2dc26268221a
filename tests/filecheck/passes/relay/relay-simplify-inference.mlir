// RUN: xtvm-opt %s -p relay-simplify-inference | filecheck %s

// conv2d + batch_norm: weights scaled per output channel (scale = gamma / sqrt(var + eps) =
// [2, 0.5]), bias = beta - mean * scale = [1, -1] as a [1, C, 1, 1] add.
// CHECK-LABEL: func.func @conv_bn
// CHECK-NEXT:    %w = relay.constant dense<{{\[\[\[\[}}2.000000e+00]]], {{\[\[\[}}-5.000000e-01]]]]> : tensor<2x1x1x1xf32>
// CHECK-NEXT:    %c = relay.conv2d %x, %w {{.*}} : (tensor<1x1x2x2xf32>, tensor<2x1x1x1xf32>) -> tensor<1x2x2x2xf32>
// CHECK-NEXT:    %bn_bias = relay.constant dense<{{\[\[\[\[}}1.000000e+00]], {{\[\[}}-1.000000e+00]]]]> : tensor<1x2x1x1xf32>
// CHECK-NEXT:    %y = relay.add %c, %bn_bias
// CHECK-NEXT:    func.return %y
// CHECK-NOT:     relay.batch_norm
func.func @conv_bn(%x: tensor<1x1x2x2xf32>) -> tensor<1x2x2x2xf32> {
  %w = relay.constant dense<[[[[1.0]]], [[[-1.0]]]]> : tensor<2x1x1x1xf32>
  %c = relay.conv2d %x, %w {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x1x2x2xf32>, tensor<2x1x1x1xf32>) -> tensor<1x2x2x2xf32>
  %g = relay.constant dense<[2.0, 1.0]> : tensor<2xf32>
  %b = relay.constant dense<[3.0, 0.0]> : tensor<2xf32>
  %m = relay.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %v = relay.constant dense<[1.0, 4.0]> : tensor<2xf32>
  %y = relay.batch_norm %c, %g, %b, %m, %v {epsilon = 0.0 : f32} : (tensor<1x2x2x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x2x2xf32>
  func.return %y : tensor<1x2x2x2xf32>
}

// A constant bias add between the conv and the batch norm folds in: (b - mean) * scale + beta.
// CHECK-LABEL: func.func @conv_bias_bn
// CHECK-NEXT:    relay.constant dense<{{\[\[\[\[}}2.000000e+00]]], {{\[\[\[}}-5.000000e-01]]]]>
// CHECK-NEXT:    relay.conv2d
// CHECK-NEXT:    relay.constant dense<{{\[\[\[\[}}2.100000e+01]], {{\[\[}}-5.000000e+00]]]]> : tensor<1x2x1x1xf32>
// CHECK-NEXT:    %y = relay.add
// CHECK-NEXT:    func.return %y
func.func @conv_bias_bn(%x: tensor<1x1x2x2xf32>) -> tensor<1x2x2x2xf32> {
  %w = relay.constant dense<[[[[1.0]]], [[[-1.0]]]]> : tensor<2x1x1x1xf32>
  %c = relay.conv2d %x, %w {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x1x2x2xf32>, tensor<2x1x1x1xf32>) -> tensor<1x2x2x2xf32>
  %bias = relay.constant dense<[[[10.0]], [[-8.0]]]> : tensor<2x1x1xf32>
  %cb = relay.add %bias, %c : (tensor<2x1x1xf32>, tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>
  %g = relay.constant dense<[2.0, 1.0]> : tensor<2xf32>
  %b = relay.constant dense<[3.0, 0.0]> : tensor<2xf32>
  %m = relay.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %v = relay.constant dense<[1.0, 4.0]> : tensor<2xf32>
  %y = relay.batch_norm %cb, %g, %b, %m, %v {epsilon = 0.0 : f32} : (tensor<1x2x2x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x2x2xf32>
  func.return %y : tensor<1x2x2x2xf32>
}

// dense + batch_norm: rows of w scaled, a [N] bias.
// CHECK-LABEL: func.func @dense_bn
// CHECK-NEXT:    relay.constant dense<{{\[\[}}2.000000e+00, 4.000000e+00], [1.500000e+00, 2.000000e+00]]> : tensor<2x2xf32>
// CHECK-NEXT:    relay.dense %x
// CHECK-NEXT:    relay.constant dense<[1.000000e+00, -1.000000e+00]> : tensor<2xf32>
// CHECK-NEXT:    %y = relay.add
// CHECK-NEXT:    func.return %y
func.func @dense_bn(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %w = relay.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %d = relay.dense %x, %w : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
  %g = relay.constant dense<[2.0, 1.0]> : tensor<2xf32>
  %b = relay.constant dense<[3.0, 0.0]> : tensor<2xf32>
  %m = relay.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %v = relay.constant dense<[1.0, 4.0]> : tensor<2xf32>
  %y = relay.batch_norm %d, %g, %b, %m, %v {epsilon = 0.0 : f32} : (tensor<3x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  func.return %y : tensor<3x2xf32>
}

// A conv whose result has another use cannot absorb the batch norm: it becomes
// multiply + add with [1, C, 1, 1] constants. A batch norm of non-constant parameters stays.
// CHECK-LABEL: func.func @lone_bn
// CHECK:         %c = relay.conv2d
// CHECK:         %bn_scale = relay.constant dense<{{\[\[\[\[}}2.000000e+00]], {{\[\[}}5.000000e-01]]]]> : tensor<1x2x1x1xf32>
// CHECK-NEXT:    %bn_shift = relay.constant dense<{{\[\[\[\[}}1.000000e+00]], {{\[\[}}-1.000000e+00]]]]> : tensor<1x2x1x1xf32>
// CHECK-NEXT:    %bn_scaled = relay.multiply %c, %bn_scale
// CHECK-NEXT:    %y = relay.add %bn_scaled, %bn_shift
// CHECK-NEXT:    %z = relay.batch_norm %c, %gx
// CHECK-NEXT:    func.return %c, %y, %z
func.func @lone_bn(%x: tensor<1x1x2x2xf32>, %gx: tensor<2xf32>) -> (tensor<1x2x2x2xf32>, tensor<1x2x2x2xf32>, tensor<1x2x2x2xf32>) {
  %w = relay.constant dense<[[[[1.0]]], [[[-1.0]]]]> : tensor<2x1x1x1xf32>
  %c = relay.conv2d %x, %w {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x1x2x2xf32>, tensor<2x1x1x1xf32>) -> tensor<1x2x2x2xf32>
  %g = relay.constant dense<[2.0, 1.0]> : tensor<2xf32>
  %b = relay.constant dense<[3.0, 0.0]> : tensor<2xf32>
  %m = relay.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %v = relay.constant dense<[1.0, 4.0]> : tensor<2xf32>
  %y = relay.batch_norm %c, %g, %b, %m, %v {epsilon = 0.0 : f32} : (tensor<1x2x2x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x2x2xf32>
  %z = relay.batch_norm %c, %gx, %b, %m, %v {epsilon = 0.0 : f32} : (tensor<1x2x2x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x2x2xf32>
  func.return %c, %y, %z : tensor<1x2x2x2xf32>, tensor<1x2x2x2xf32>, tensor<1x2x2x2xf32>
}
