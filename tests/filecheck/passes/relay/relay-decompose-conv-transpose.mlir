// RUN: xtvm-opt %s -p relay-decompose-conv-transpose | filecheck %s

// kernel == stride: one conv to C_out * 4 channels whose weight rows are the kernel taps in
// phase order (ry, rx), the bias add moved before the interleave (tiled per phase), then
// depth_to_space; the relu stays after it.
// CHECK-LABEL: func.func @k2s2_bias
// CHECK-NEXT:    %[[W:.*]] = relay.constant dense<{{\[\[\[\[}}1.000000e+00]]], {{\[\[\[}}2.000000e+00]]], {{\[\[\[}}3.000000e+00]]], {{\[\[\[}}4.000000e+00]]]]> : tensor<4x1x1x1xf32>
// CHECK-NEXT:    %[[C:.*]] = relay.conv2d %x, %[[W]] {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x1x3x3xf32>, tensor<4x1x1x1xf32>) -> tensor<1x4x3x3xf32>
// CHECK-NEXT:    %[[B:.*]] = relay.constant dense<5.000000e+00> : tensor<1x4x1x1xf32>
// CHECK-NEXT:    %[[A:.*]] = relay.add %[[C]], %[[B]] : (tensor<1x4x3x3xf32>, tensor<1x4x1x1xf32>) -> tensor<1x4x3x3xf32>
// CHECK-NEXT:    %y = relay.depth_to_space %[[A]] {block_size = 2 : i64, mode = "DCR"} : (tensor<1x4x3x3xf32>) -> tensor<1x1x6x6xf32>
// CHECK-NEXT:    %r = relay.relu %y : tensor<1x1x6x6xf32>
// CHECK-NEXT:    func.return %r
func.func @k2s2_bias(%x: tensor<1x1x3x3xf32>) -> tensor<1x1x6x6xf32> {
  %w = relay.constant dense<[[[[1.0, 2.0], [3.0, 4.0]]]]> : tensor<1x1x2x2xf32>
  %t = relay.conv2d_transpose %x, %w {strides = array<i64: 2, 2>, padding = array<i64: 0, 0, 0, 0>, dilation = array<i64: 1, 1>, output_padding = array<i64: 0, 0>, groups = 1 : i64} : (tensor<1x1x3x3xf32>, tensor<1x1x2x2xf32>) -> tensor<1x1x6x6xf32>
  %b = relay.constant dense<5.0> : tensor<1x1x1x1xf32>
  %y = relay.add %t, %b : (tensor<1x1x6x6xf32>, tensor<1x1x1x1xf32>) -> tensor<1x1x6x6xf32>
  %r = relay.relu %y : tensor<1x1x6x6xf32>
  func.return %r : tensor<1x1x6x6xf32>
}

// kernel 3, stride 2, pad 1, output_padding 1: even output rows get tap 1 (1 tap), odd rows
// taps 2 then 0 (2 taps, the second one row further down the input); likewise for columns.
// One conv per phase (1x1, 1x2, 2x1, 2x2), concatenated in phase order, interleaved.
// CHECK-LABEL: func.func @k3s2p1
// CHECK:         relay.conv2d %x, %{{.*}} {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, {{.*}} : (tensor<1x2x4x5xf32>, tensor<3x2x1x1xf32>) -> tensor<1x3x4x5xf32>
// CHECK:         relay.conv2d %x, %{{.*}} {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 1>, {{.*}} : (tensor<1x2x4x5xf32>, tensor<3x2x1x2xf32>) -> tensor<1x3x4x5xf32>
// CHECK:         relay.conv2d %x, %{{.*}} {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 1, 0>, {{.*}} : (tensor<1x2x4x5xf32>, tensor<3x2x2x1xf32>) -> tensor<1x3x4x5xf32>
// CHECK:         relay.conv2d %x, %{{.*}} {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 1, 1>, {{.*}} : (tensor<1x2x4x5xf32>, tensor<3x2x2x2xf32>) -> tensor<1x3x4x5xf32>
// CHECK-NEXT:    %[[P:.*]] = relay.concatenate {{.*}} {axis = 1 : i64} : {{.*}} -> tensor<1x12x4x5xf32>
// CHECK-NEXT:    %t = relay.depth_to_space %[[P]] {block_size = 2 : i64, mode = "DCR"} : (tensor<1x12x4x5xf32>) -> tensor<1x3x8x10xf32>
// CHECK-NEXT:    func.return %t
// CHECK-NOT:     relay.conv2d_transpose
func.func @k3s2p1(%x: tensor<1x2x4x5xf32>) -> tensor<1x3x8x10xf32> {
  %w = relay.constant dense<1.0> : tensor<2x3x3x3xf32>
  %t = relay.conv2d_transpose %x, %w {strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>, dilation = array<i64: 1, 1>, output_padding = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x4x5xf32>, tensor<2x3x3x3xf32>) -> tensor<1x3x8x10xf32>
  func.return %t : tensor<1x3x8x10xf32>
}

// Without output_padding the output (7x9) is not a multiple of the stride: the phases are
// computed at 4x5 and the interleaved 8x10 result is cropped.
// CHECK-LABEL: func.func @crop
// CHECK:         relay.depth_to_space {{.*}} -> tensor<1x3x8x10xf32>
// CHECK-NEXT:    %t = relay.strided_slice %{{.*}} {begin = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1, 1, 1>} : (tensor<1x3x8x10xf32>) -> tensor<1x3x7x9xf32>
// CHECK-NEXT:    func.return %t
func.func @crop(%x: tensor<1x2x4x5xf32>) -> tensor<1x3x7x9xf32> {
  %w = relay.constant dense<1.0> : tensor<2x3x3x3xf32>
  %t = relay.conv2d_transpose %x, %w {strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>, dilation = array<i64: 1, 1>, output_padding = array<i64: 0, 0>, groups = 1 : i64} : (tensor<1x2x4x5xf32>, tensor<2x3x3x3xf32>) -> tensor<1x3x7x9xf32>
  func.return %t : tensor<1x3x7x9xf32>
}

// Stride 1: a single conv with the kernel flipped and padding (k - 1) - pad; no interleave.
// CHECK-LABEL: func.func @stride1
// CHECK-NEXT:    %[[W:.*]] = relay.constant dense<{{\[\[\[\[}}3.000000e+00, 2.000000e+00, 1.000000e+00]]]]> : tensor<1x1x1x3xf32>
// CHECK-NEXT:    %t = relay.conv2d %x, %[[W]] {strides = array<i64: 1, 1>, padding = array<i64: 0, 1, 0, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x1x1x4xf32>, tensor<1x1x1x3xf32>) -> tensor<1x1x1x4xf32>
// CHECK-NEXT:    func.return %t
func.func @stride1(%x: tensor<1x1x1x4xf32>) -> tensor<1x1x1x4xf32> {
  %w = relay.constant dense<[[[[1.0, 2.0, 3.0]]]]> : tensor<1x1x1x3xf32>
  %t = relay.conv2d_transpose %x, %w {strides = array<i64: 1, 1>, padding = array<i64: 0, 1, 0, 1>, dilation = array<i64: 1, 1>, output_padding = array<i64: 0, 0>, groups = 1 : i64} : (tensor<1x1x1x4xf32>, tensor<1x1x1x3xf32>) -> tensor<1x1x1x4xf32>
  func.return %t : tensor<1x1x1x4xf32>
}

// Kernel 1, stride 3: only phase (0, 0) has a tap; the other 8 phases are zero channels
// padded after it. The bias then stays after the interleave (zeros need it too).
// CHECK-LABEL: func.func @zero_phases
// CHECK:         %[[C:.*]] = relay.conv2d %x, {{.*}} -> tensor<1x2x3x3xf32>
// CHECK-NEXT:    %[[Z:.*]] = relay.pad %[[C]] {pad_before = array<i64: 0, 0, 0, 0>, pad_after = array<i64: 0, 16, 0, 0>, mode = "constant", pad_value = 0.000000e+00 : f64} : (tensor<1x2x3x3xf32>) -> tensor<1x18x3x3xf32>
// CHECK-NEXT:    %t = relay.depth_to_space %[[Z]] {block_size = 3 : i64, mode = "DCR"} : (tensor<1x18x3x3xf32>) -> tensor<1x2x9x9xf32>
// CHECK-NEXT:    %b = relay.constant
// CHECK-NEXT:    %y = relay.add %t, %b
func.func @zero_phases(%x: tensor<1x2x3x3xf32>) -> tensor<1x2x9x9xf32> {
  %w = relay.constant dense<1.0> : tensor<2x2x1x1xf32>
  %t = relay.conv2d_transpose %x, %w {strides = array<i64: 3, 3>, padding = array<i64: 0, 0, 0, 0>, dilation = array<i64: 1, 1>, output_padding = array<i64: 2, 2>, groups = 1 : i64} : (tensor<1x2x3x3xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x9x9xf32>
  %b = relay.constant dense<5.0> : tensor<1x2x1x1xf32>
  %y = relay.add %t, %b : (tensor<1x2x9x9xf32>, tensor<1x2x1x1xf32>) -> tensor<1x2x9x9xf32>
  func.return %y : tensor<1x2x9x9xf32>
}

// Strides (1, 2): no depth_to_space; the interleave is reshape + transpose + reshape.
// CHECK-LABEL: func.func @uneven_strides
// CHECK:         %[[C:.*]] = relay.conv2d %x, {{.*}} -> tensor<1x8x3x3xf32>
// CHECK-NEXT:    %[[G:.*]] = relay.reshape %[[C]] : (tensor<1x8x3x3xf32>) -> tensor<1x1x2x4x3x3xf32>
// CHECK-NEXT:    %[[T:.*]] = relay.transpose %[[G]] {axes = array<i64: 0, 3, 4, 1, 5, 2>} : (tensor<1x1x2x4x3x3xf32>) -> tensor<1x4x3x1x3x2xf32>
// CHECK-NEXT:    %t = relay.reshape %[[T]] : (tensor<1x4x3x1x3x2xf32>) -> tensor<1x4x3x6xf32>
func.func @uneven_strides(%x: tensor<1x2x3x3xf32>) -> tensor<1x4x3x6xf32> {
  %w = relay.constant dense<1.0> : tensor<2x4x1x2xf32>
  %t = relay.conv2d_transpose %x, %w {strides = array<i64: 1, 2>, padding = array<i64: 0, 0, 0, 0>, dilation = array<i64: 1, 1>, output_padding = array<i64: 0, 0>, groups = 1 : i64} : (tensor<1x2x3x3xf32>, tensor<2x4x1x2xf32>) -> tensor<1x4x3x6xf32>
  func.return %t : tensor<1x4x3x6xf32>
}

// Padding beyond the taps' reach: the input is sliced before the conv (rows 2.. of 4).
// CHECK-LABEL: func.func @sliced_input
// CHECK-NEXT:    %[[S:.*]] = relay.strided_slice %x {begin = array<i64: 0, 0, 2, 0>, strides = array<i64: 1, 1, 1, 1>} : (tensor<1x1x4x1xf32>) -> tensor<1x1x2x1xf32>
// CHECK-NEXT:    relay.constant
// CHECK-NEXT:    %t = relay.conv2d %[[S]], {{.*}} -> tensor<1x1x2x1xf32>
func.func @sliced_input(%x: tensor<1x1x4x1xf32>) -> tensor<1x1x2x1xf32> {
  %w = relay.constant dense<1.0> : tensor<1x1x1x1xf32>
  %t = relay.conv2d_transpose %x, %w {strides = array<i64: 1, 1>, padding = array<i64: 2, 0, 0, 0>, dilation = array<i64: 1, 1>, output_padding = array<i64: 0, 0>, groups = 1 : i64} : (tensor<1x1x4x1xf32>, tensor<1x1x1x1xf32>) -> tensor<1x1x2x1xf32>
  func.return %t : tensor<1x1x2x1xf32>
}

// Depthwise (one input and one output channel per group): one depthwise conv per phase.
// CHECK-LABEL: func.func @depthwise
// CHECK-COUNT-4: relay.conv2d %x, {{.*}} groups = 2 : i64} : (tensor<1x2x3x3xf32>, tensor<2x1x1x1xf32>) -> tensor<1x2x3x3xf32>
// CHECK:         relay.concatenate
// CHECK-NEXT:    %t = relay.depth_to_space
func.func @depthwise(%x: tensor<1x2x3x3xf32>) -> tensor<1x2x6x6xf32> {
  %w = relay.constant dense<1.0> : tensor<2x1x2x2xf32>
  %t = relay.conv2d_transpose %x, %w {strides = array<i64: 2, 2>, padding = array<i64: 0, 0, 0, 0>, dilation = array<i64: 1, 1>, output_padding = array<i64: 0, 0>, groups = 2 : i64} : (tensor<1x2x3x3xf32>, tensor<2x1x2x2xf32>) -> tensor<1x2x6x6xf32>
  func.return %t : tensor<1x2x6x6xf32>
}

// Left alone: other grouped convs, and a weight that is not a constant.
// CHECK-LABEL: func.func @grouped
// CHECK:         relay.conv2d_transpose
// CHECK-LABEL: func.func @weight_input
// CHECK-NEXT:    %t = relay.conv2d_transpose %x, %w
func.func @grouped(%x: tensor<1x4x3x3xf32>) -> tensor<1x4x6x6xf32> {
  %w = relay.constant dense<1.0> : tensor<4x2x2x2xf32>
  %t = relay.conv2d_transpose %x, %w {strides = array<i64: 2, 2>, padding = array<i64: 0, 0, 0, 0>, dilation = array<i64: 1, 1>, output_padding = array<i64: 0, 0>, groups = 2 : i64} : (tensor<1x4x3x3xf32>, tensor<4x2x2x2xf32>) -> tensor<1x4x6x6xf32>
  func.return %t : tensor<1x4x6x6xf32>
}
func.func @weight_input(%x: tensor<1x1x3x3xf32>, %w: tensor<1x1x2x2xf32>) -> tensor<1x1x6x6xf32> {
  %t = relay.conv2d_transpose %x, %w {strides = array<i64: 2, 2>, padding = array<i64: 0, 0, 0, 0>, dilation = array<i64: 1, 1>, output_padding = array<i64: 0, 0>, groups = 1 : i64} : (tensor<1x1x3x3xf32>, tensor<1x1x2x2xf32>) -> tensor<1x1x6x6xf32>
  func.return %t : tensor<1x1x6x6xf32>
}
