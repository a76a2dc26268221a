// RUN: xtvm-opt %s -p 'relay-alter-layout{vector-bits=256}' | filecheck %s
// RUN: xtvm-opt %s -p 'relay-alter-layout{vector-bits=256},relay-fold-constant' | filecheck %s --check-prefix=FOLD

// 256-bit vectors: 8 float lanes. The first conv reads 3 channels (block 3) and writes 16
// (block 8); bias, relu, the second conv, the residual add and the pooling all stay in
// NCHW8c, and only the function result goes back to NCHW.
// CHECK-LABEL: func.func @chain
// CHECK:         %[[X:.*]] = relay.layout_transform %x {src_layout = "NCHW", dst_layout = "NCHW3c"} : (tensor<1x3x8x8xf32>) -> tensor<1x1x8x8x3xf32>
// CHECK-NEXT:    %[[W:.*]] = relay.layout_transform %w {src_layout = "OIHW", dst_layout = "OIHW3i8o"} : (tensor<16x3x3x3xf32>) -> tensor<2x1x3x3x3x8xf32>
// CHECK-NEXT:    %c = relay.conv2d_nchwc %[[X]], %[[W]] {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, dilation = array<i64: 1, 1>, depthwise = 0 : i64} : (tensor<1x1x8x8x3xf32>, tensor<2x1x3x3x3x8xf32>) -> tensor<1x2x8x8x8xf32>
// CHECK-NEXT:    %[[B:.*]] = relay.layout_transform %b {src_layout = "NCHW", dst_layout = "NCHW8c"} : (tensor<1x16x1x1xf32>) -> tensor<1x2x1x1x8xf32>
// CHECK-NEXT:    %a = relay.add %c, %[[B]] : (tensor<1x2x8x8x8xf32>, tensor<1x2x1x1x8xf32>) -> tensor<1x2x8x8x8xf32>
// CHECK-NEXT:    %r = relay.relu %a : tensor<1x2x8x8x8xf32>
// CHECK-NEXT:    %[[W2:.*]] = relay.layout_transform %w2 {src_layout = "OIHW", dst_layout = "OIHW8i8o"}
// CHECK-NEXT:    %c2 = relay.conv2d_nchwc %r, %[[W2]] {{.*}} -> tensor<1x2x8x8x8xf32>
// CHECK-NEXT:    %s = relay.add %c2, %r : (tensor<1x2x8x8x8xf32>, tensor<1x2x8x8x8xf32>) -> tensor<1x2x8x8x8xf32>
// CHECK-NEXT:    %p = relay.max_pool2d_nchwc %s {{.*}} : (tensor<1x2x8x8x8xf32>) -> tensor<1x2x4x4x8xf32>
// CHECK-NEXT:    %[[P:.*]] = relay.layout_transform %p {src_layout = "NCHW8c", dst_layout = "NCHW"} : (tensor<1x2x4x4x8xf32>) -> tensor<1x16x4x4xf32>
// CHECK-NEXT:    func.return %[[P]] : tensor<1x16x4x4xf32>

// After folding, the weights and the bias are constants in their blocked layouts.
// FOLD-LABEL: func.func @chain
// FOLD:         relay.layout_transform %x
// FOLD-NEXT:    %w = relay.constant dense<1.000000e-01> : tensor<2x1x3x3x3x8xf32>
// FOLD-NEXT:    relay.conv2d_nchwc
// FOLD-NEXT:    %b = relay.constant dense<5.000000e-01> : tensor<1x2x1x1x8xf32>
// FOLD-NEXT:    relay.add
// FOLD-NEXT:    relay.relu
// FOLD-NEXT:    %w2 = relay.constant dense<2.000000e-01> : tensor<2x2x1x1x8x8xf32>
// FOLD-NEXT:    relay.conv2d_nchwc
// FOLD-NEXT:    relay.add
// FOLD-NEXT:    relay.max_pool2d_nchwc
// FOLD-NEXT:    relay.layout_transform %p
// FOLD-NEXT:    func.return
func.func @chain(%x: tensor<1x3x8x8xf32>) -> tensor<1x16x4x4xf32> {
  %w = relay.constant dense<0.1> : tensor<16x3x3x3xf32>
  %b = relay.constant dense<0.5> : tensor<1x16x1x1xf32>
  %w2 = relay.constant dense<0.2> : tensor<16x16x1x1xf32>
  %c = relay.conv2d %x, %w {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x3x8x8xf32>, tensor<16x3x3x3xf32>) -> tensor<1x16x8x8xf32>
  %a = relay.add %c, %b : (tensor<1x16x8x8xf32>, tensor<1x16x1x1xf32>) -> tensor<1x16x8x8xf32>
  %r = relay.relu %a : tensor<1x16x8x8xf32>
  %c2 = relay.conv2d %r, %w2 {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x16x8x8xf32>, tensor<16x16x1x1xf32>) -> tensor<1x16x8x8xf32>
  %s = relay.add %c2, %r : (tensor<1x16x8x8xf32>, tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32>
  %p = relay.max_pool2d %s {pool_size = array<i64: 2, 2>, strides = array<i64: 2, 2>, padding = array<i64: 0, 0, 0, 0>, dilation = array<i64: 1, 1>, ceil_mode = 0 : i64} : (tensor<1x16x8x8xf32>) -> tensor<1x16x4x4xf32>
  func.return %p : tensor<1x16x4x4xf32>
}

// A depthwise conv keeps its input block; its kernel is OIHW1i8o.
// CHECK-LABEL: func.func @depthwise
// CHECK:         %[[X:.*]] = relay.layout_transform %x {src_layout = "NCHW", dst_layout = "NCHW8c"}
// CHECK-NEXT:    %[[W:.*]] = relay.layout_transform %w {src_layout = "OIHW", dst_layout = "OIHW1i8o"} : (tensor<16x1x3x3xf32>) -> tensor<2x1x3x3x1x8xf32>
// CHECK-NEXT:    %c = relay.conv2d_nchwc %[[X]], %[[W]] {strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>, dilation = array<i64: 1, 1>, depthwise = 1 : i64} : (tensor<1x2x8x8x8xf32>, tensor<2x1x3x3x1x8xf32>) -> tensor<1x2x4x4x8xf32>
// CHECK-NEXT:    %r = relay.clip %c {{.*}} : tensor<1x2x4x4x8xf32>
// CHECK-NEXT:    relay.layout_transform %r {src_layout = "NCHW8c", dst_layout = "NCHW"}
func.func @depthwise(%x: tensor<1x16x8x8xf32>) -> tensor<1x16x4x4xf32> {
  %w = relay.constant dense<0.1> : tensor<16x1x3x3xf32>
  %c = relay.conv2d %x, %w {strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>, dilation = array<i64: 1, 1>, groups = 16 : i64} : (tensor<1x16x8x8xf32>, tensor<16x1x3x3xf32>) -> tensor<1x16x4x4xf32>
  %r = relay.clip %c {a_min = 0.0 : f32, a_max = 6.0 : f32} : tensor<1x16x4x4xf32>
  func.return %r : tensor<1x16x4x4xf32>
}

// A grouped conv is blocked with whole blocks per group: 8 channels per group keep the
// incoming NCHW8c; 4 per group re-block it to NCHW4c. Each [O, C/G, KH, KW] weight becomes
// OIHW{cb}i{ob}o, folded to a constant.
// CHECK-LABEL: func.func @grouped(
// CHECK:         %c = relay.conv2d_nchwc
// CHECK-NEXT:    %[[G:.*]] = relay.layout_transform %g {src_layout = "OIHW", dst_layout = "OIHW8i8o"} : (tensor<16x8x3x3xf32>) -> tensor<2x1x3x3x8x8xf32>
// CHECK-NEXT:    %d = relay.conv2d_nchwc %c, %[[G]] {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, dilation = array<i64: 1, 1>, depthwise = 0 : i64, groups = 2 : i64} : (tensor<1x2x8x8x8xf32>, tensor<2x1x3x3x8x8xf32>) -> tensor<1x2x8x8x8xf32>
// CHECK-NEXT:    %[[B:.*]] = relay.layout_transform %b {src_layout = "NCHW", dst_layout = "NCHW8c"}
// CHECK-NEXT:    %a = relay.add %d, %[[B]] : (tensor<1x2x8x8x8xf32>, tensor<1x2x1x1x8xf32>) -> tensor<1x2x8x8x8xf32>
// CHECK-NEXT:    %r = relay.relu %a : tensor<1x2x8x8x8xf32>
// CHECK-NEXT:    %[[R:.*]] = relay.layout_transform %r {src_layout = "NCHW8c", dst_layout = "NCHW4c"} : (tensor<1x2x8x8x8xf32>) -> tensor<1x4x8x8x4xf32>
// CHECK-NEXT:    %[[H:.*]] = relay.layout_transform %h {src_layout = "OIHW", dst_layout = "OIHW4i4o"} : (tensor<16x4x3x3xf32>) -> tensor<4x1x3x3x4x4xf32>
// CHECK-NEXT:    %e = relay.conv2d_nchwc %[[R]], %[[H]] {{.*}} groups = 4 : i64} : (tensor<1x4x8x8x4xf32>, tensor<4x1x3x3x4x4xf32>) -> tensor<1x4x4x4x4xf32>
// CHECK-NEXT:    %[[E:.*]] = relay.layout_transform %e {src_layout = "NCHW4c", dst_layout = "NCHW"}
// CHECK-NEXT:    func.return %[[E]] : tensor<1x16x4x4xf32>

// FOLD-LABEL: func.func @grouped(
// FOLD:         %g = relay.constant dense<2.000000e-01> : tensor<2x1x3x3x8x8xf32>
// FOLD-NEXT:    relay.conv2d_nchwc {{.*}} groups = 2 : i64
// FOLD:         %h = relay.constant dense<3.000000e-01> : tensor<4x1x3x3x4x4xf32>
// FOLD-NEXT:    relay.conv2d_nchwc {{.*}} groups = 4 : i64
func.func @grouped(%x: tensor<1x16x8x8xf32>) -> tensor<1x16x4x4xf32> {
  %w = relay.constant dense<0.1> : tensor<16x16x1x1xf32>
  %g = relay.constant dense<0.2> : tensor<16x8x3x3xf32>
  %b = relay.constant dense<0.5> : tensor<1x16x1x1xf32>
  %h = relay.constant dense<0.3> : tensor<16x4x3x3xf32>
  %c = relay.conv2d %x, %w {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x16x8x8xf32>, tensor<16x16x1x1xf32>) -> tensor<1x16x8x8xf32>
  %d = relay.conv2d %c, %g {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, dilation = array<i64: 1, 1>, groups = 2 : i64} : (tensor<1x16x8x8xf32>, tensor<16x8x3x3xf32>) -> tensor<1x16x8x8xf32>
  %a = relay.add %d, %b : (tensor<1x16x8x8xf32>, tensor<1x16x1x1xf32>) -> tensor<1x16x8x8xf32>
  %r = relay.relu %a : tensor<1x16x8x8xf32>
  %e = relay.conv2d %r, %h {strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>, dilation = array<i64: 1, 1>, groups = 4 : i64} : (tensor<1x16x8x8xf32>, tensor<16x4x3x3xf32>) -> tensor<1x16x4x4xf32>
  func.return %e : tensor<1x16x4x4xf32>
}

// A grouped conv with one output channel per group stays NCHW and reads the blocked value
// through a transform; the add stays blocked and takes its result re-laid-out.
// CHECK-LABEL: func.func @grouped_nchw
// CHECK:         %c = relay.conv2d_nchwc
// CHECK-NEXT:    %[[C:.*]] = relay.layout_transform %c {src_layout = "NCHW8c", dst_layout = "NCHW"}
// CHECK-NEXT:    %d = relay.conv2d %[[C]], %g {{.*}} groups = 8 : i64} : (tensor<1x16x8x8xf32>, tensor<8x2x1x1xf32>) -> tensor<1x8x8x8xf32>
// CHECK-NEXT:    relay.layout_transform %v
// CHECK-NEXT:    %e = relay.conv2d_nchwc %c, {{.*}} -> tensor<1x1x8x8x8xf32>
// CHECK-NEXT:    %[[D:.*]] = relay.layout_transform %d {src_layout = "NCHW", dst_layout = "NCHW8c"}
// CHECK-NEXT:    %s = relay.add %[[D]], %e : (tensor<1x1x8x8x8xf32>, tensor<1x1x8x8x8xf32>) -> tensor<1x1x8x8x8xf32>
func.func @grouped_nchw(%x: tensor<1x16x8x8xf32>) -> tensor<1x8x8x8xf32> {
  %w = relay.constant dense<0.1> : tensor<16x16x1x1xf32>
  %g = relay.constant dense<0.1> : tensor<8x2x1x1xf32>
  %v = relay.constant dense<0.1> : tensor<8x16x1x1xf32>
  %c = relay.conv2d %x, %w {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x16x8x8xf32>, tensor<16x16x1x1xf32>) -> tensor<1x16x8x8xf32>
  %d = relay.conv2d %c, %g {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, dilation = array<i64: 1, 1>, groups = 8 : i64} : (tensor<1x16x8x8xf32>, tensor<8x2x1x1xf32>) -> tensor<1x8x8x8xf32>
  %e = relay.conv2d %c, %v {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x16x8x8xf32>, tensor<8x16x1x1xf32>) -> tensor<1x8x8x8xf32>
  %s = relay.add %d, %e : (tensor<1x8x8x8xf32>, tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32>
  func.return %s : tensor<1x8x8x8xf32>
}

// A weight that is not a constant cannot be re-laid-out at compile time: the conv stays.
// CHECK-LABEL: func.func @weight_input
// CHECK-NEXT:    %c = relay.conv2d %x, %w
// CHECK-NEXT:    func.return %c
func.func @weight_input(%x: tensor<1x16x8x8xf32>, %w: tensor<16x16x1x1xf32>) -> tensor<1x16x8x8xf32> {
  %c = relay.conv2d %x, %w {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x16x8x8xf32>, tensor<16x16x1x1xf32>) -> tensor<1x16x8x8xf32>
  func.return %c : tensor<1x16x8x8xf32>
}

// 12 channels with 8 lanes: block 6. A [C, 1, 1] constant is reshaped and re-laid-out; the
// channel concatenation and the average pooling keep the block; the value used both inside
// and as a result is transformed back once, before the return.
// CHECK-LABEL: func.func @odd_channels
// CHECK:         relay.layout_transform %x {src_layout = "NCHW", dst_layout = "NCHW6c"} : (tensor<1x12x6x6xf32>) -> tensor<1x2x6x6x6xf32>
// CHECK-NEXT:    relay.layout_transform %w {src_layout = "OIHW", dst_layout = "OIHW6i6o"}
// CHECK-NEXT:    %c = relay.conv2d_nchwc
// CHECK-NEXT:    %[[M4:.*]] = relay.reshape %m : (tensor<12x1x1xf32>) -> tensor<1x12x1x1xf32>
// CHECK-NEXT:    %[[M:.*]] = relay.layout_transform %[[M4]] {src_layout = "NCHW", dst_layout = "NCHW6c"} : (tensor<1x12x1x1xf32>) -> tensor<1x2x1x1x6xf32>
// CHECK-NEXT:    %k = relay.multiply %c, %[[M]] : (tensor<1x2x6x6x6xf32>, tensor<1x2x1x1x6xf32>) -> tensor<1x2x6x6x6xf32>
// CHECK-NEXT:    relay.layout_transform %w2
// CHECK-NEXT:    %c2 = relay.conv2d_nchwc %k
// CHECK-NEXT:    %cat = relay.concatenate %k, %c2 {axis = 1 : i64} : (tensor<1x2x6x6x6xf32>, tensor<1x2x6x6x6xf32>) -> tensor<1x4x6x6x6xf32>
// CHECK-NEXT:    %p = relay.avg_pool2d_nchwc %cat {{.*}} count_include_pad = 0 : i64} : (tensor<1x4x6x6x6xf32>) -> tensor<1x4x3x3x6xf32>
// CHECK-NEXT:    %[[K:.*]] = relay.layout_transform %k {src_layout = "NCHW6c", dst_layout = "NCHW"}
// CHECK-NEXT:    %[[P:.*]] = relay.layout_transform %p {src_layout = "NCHW6c", dst_layout = "NCHW"}
// CHECK-NEXT:    func.return %[[P]], %[[K]]
func.func @odd_channels(%x: tensor<1x12x6x6xf32>) -> (tensor<1x24x3x3xf32>, tensor<1x12x6x6xf32>) {
  %w = relay.constant dense<0.1> : tensor<12x12x3x3xf32>
  %w2 = relay.constant dense<0.1> : tensor<12x12x1x1xf32>
  %m = relay.constant dense<2.0> : tensor<12x1x1xf32>
  %c = relay.conv2d %x, %w {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x12x6x6xf32>, tensor<12x12x3x3xf32>) -> tensor<1x12x6x6xf32>
  %k = relay.multiply %c, %m : (tensor<1x12x6x6xf32>, tensor<12x1x1xf32>) -> tensor<1x12x6x6xf32>
  %c2 = relay.conv2d %k, %w2 {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x12x6x6xf32>, tensor<12x12x1x1xf32>) -> tensor<1x12x6x6xf32>
  %cat = relay.concatenate %k, %c2 {axis = 1 : i64} : (tensor<1x12x6x6xf32>, tensor<1x12x6x6xf32>) -> tensor<1x24x6x6xf32>
  %p = relay.avg_pool2d %cat {pool_size = array<i64: 2, 2>, strides = array<i64: 2, 2>, padding = array<i64: 0, 0, 0, 0>, dilation = array<i64: 1, 1>, ceil_mode = 0 : i64, count_include_pad = 0 : i64} : (tensor<1x24x6x6xf32>) -> tensor<1x24x3x3xf32>
  func.return %p, %k : tensor<1x24x3x3xf32>, tensor<1x12x6x6xf32>
}

// Resize over H and W and global pooling stay blocked; the reshape before the classifier
// cannot take the blocked layout and reads a transform back. The classifier's 10 outputs
// are no whole panel: its weight is zero-padded to 16 rows and the result sliced.
// CHECK-LABEL: func.func @head
// CHECK:         %c = relay.conv2d_nchwc
// CHECK-NEXT:    %u = relay.resize %c {scales = array<f32: 1.000000e+00, 1.000000e+00, 2.000000e+00, 2.000000e+00, 1.000000e+00>, roi = array<f32: 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 1.000000e+00, 1.000000e+00, 1.000000e+00, 1.000000e+00, 1.000000e+00>, {{.*}} : (tensor<1x2x4x4x8xf32>) -> tensor<1x2x8x8x8xf32>
// CHECK-NEXT:    %g = relay.global_avg_pool2d_nchwc %c : (tensor<1x2x4x4x8xf32>) -> tensor<1x2x1x1x8xf32>
// CHECK-NEXT:    %[[G:.*]] = relay.layout_transform %g {src_layout = "NCHW8c", dst_layout = "NCHW"} : (tensor<1x2x1x1x8xf32>) -> tensor<1x16x1x1xf32>
// CHECK-NEXT:    %f = relay.reshape %[[G]] : (tensor<1x16x1x1xf32>) -> tensor<1x16xf32>
// CHECK-NEXT:    %d = relay.constant
// CHECK-NEXT:    %[[P:.*]] = relay.pad %d {pad_before = array<i64: 0, 0>, pad_after = array<i64: 6, 0>, {{.*}} : (tensor<10x16xf32>) -> tensor<16x16xf32>
// CHECK-NEXT:    %[[R:.*]] = relay.reshape %[[P]] : (tensor<16x16xf32>) -> tensor<2x8x16xf32>
// CHECK-NEXT:    %[[T:.*]] = relay.transpose %[[R]] {axes = array<i64: 0, 2, 1>} : (tensor<2x8x16xf32>) -> tensor<2x16x8xf32>
// CHECK-NEXT:    %[[D:.*]] = relay.dense_pack %f, %[[T]] : (tensor<1x16xf32>, tensor<2x16x8xf32>) -> tensor<1x16xf32>
// CHECK-NEXT:    %y = relay.strided_slice %[[D]] {{.*}} : (tensor<1x16xf32>) -> tensor<1x10xf32>
// CHECK-NEXT:    %[[U:.*]] = relay.layout_transform %u {src_layout = "NCHW8c", dst_layout = "NCHW"}
// CHECK-NEXT:    func.return %[[U]], %y
func.func @head(%x: tensor<1x16x4x4xf32>) -> (tensor<1x16x8x8xf32>, tensor<1x10xf32>) {
  %w = relay.constant dense<0.1> : tensor<16x16x1x1xf32>
  %c = relay.conv2d %x, %w {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x16x4x4xf32>, tensor<16x16x1x1xf32>) -> tensor<1x16x4x4xf32>
  %u = relay.resize %c {scales = array<f32: 1.0, 1.0, 2.0, 2.0>, roi = array<f32: 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0>, method = "nearest", coordinate_transformation_mode = "asymmetric", nearest_mode = "floor", cubic_coeff_a = -7.500000e-01 : f32, exclude_outside = 0 : i64, extrapolation_value = 0.000000e+00 : f32} : (tensor<1x16x4x4xf32>) -> tensor<1x16x8x8xf32>
  %g = relay.global_avg_pool2d %c : (tensor<1x16x4x4xf32>) -> tensor<1x16x1x1xf32>
  %f = relay.reshape %g : (tensor<1x16x1x1xf32>) -> tensor<1x16xf32>
  %d = relay.constant dense<0.1> : tensor<10x16xf32>
  %y = relay.dense %f, %d : (tensor<1x16xf32>, tensor<10x16xf32>) -> tensor<1x10xf32>
  func.return %u, %y : tensor<1x16x8x8xf32>, tensor<1x10xf32>
}

// Dense with a constant weight: N = 32 packs 16-wide panels (2 x 8 lanes), N = 8 8-wide ones;
// the bias add is untouched.
// CHECK-LABEL: func.func @dense
// CHECK:         %[[R:.*]] = relay.reshape %w : (tensor<32x16xf32>) -> tensor<2x16x16xf32>
// CHECK-NEXT:    %[[T:.*]] = relay.transpose %[[R]] {axes = array<i64: 0, 2, 1>} : (tensor<2x16x16xf32>) -> tensor<2x16x16xf32>
// CHECK-NEXT:    %y = relay.dense_pack %x, %[[T]] : (tensor<2x16xf32>, tensor<2x16x16xf32>) -> tensor<2x32xf32>
// CHECK-NEXT:    %z = relay.add %y, %b : (tensor<2x32xf32>, tensor<32xf32>) -> tensor<2x32xf32>
// CHECK-NEXT:    %[[R2:.*]] = relay.reshape %v : (tensor<8x16xf32>) -> tensor<1x8x16xf32>
// CHECK-NEXT:    %[[T2:.*]] = relay.transpose %[[R2]] {axes = array<i64: 0, 2, 1>} : (tensor<1x8x16xf32>) -> tensor<1x16x8xf32>
// CHECK-NEXT:    %t = relay.dense_pack %x, %[[T2]] : (tensor<2x16xf32>, tensor<1x16x8xf32>) -> tensor<2x8xf32>
// FOLD-LABEL: func.func @dense
// FOLD:         relay.constant {{.*}} : tensor<2x16x16xf32>
// FOLD-NEXT:    relay.dense_pack %x
func.func @dense(%x: tensor<2x16xf32>) -> (tensor<2x32xf32>, tensor<2x8xf32>) {
  %w = relay.constant dense<0.1> : tensor<32x16xf32>
  %v = relay.constant dense<0.1> : tensor<8x16xf32>
  %b = relay.constant dense<0.1> : tensor<32xf32>
  %y = relay.dense %x, %w : (tensor<2x16xf32>, tensor<32x16xf32>) -> tensor<2x32xf32>
  %z = relay.add %y, %b : (tensor<2x32xf32>, tensor<32xf32>) -> tensor<2x32xf32>
  %t = relay.dense %x, %v : (tensor<2x16xf32>, tensor<8x16xf32>) -> tensor<2x8xf32>
  func.return %z, %t : tensor<2x32xf32>, tensor<2x8xf32>
}

// Transforms that return to where they started cancel; chains merge.
// CHECK-LABEL: func.func @cancel
// CHECK-NEXT:    %c = relay.relu %x : tensor<1x16x4x4xf32>
// CHECK-NEXT:    func.return %c : tensor<1x16x4x4xf32>
func.func @cancel(%x: tensor<1x16x4x4xf32>) -> tensor<1x16x4x4xf32> {
  %a = relay.layout_transform %x {src_layout = "NCHW", dst_layout = "NCHW8c"} : (tensor<1x16x4x4xf32>) -> tensor<1x2x4x4x8xf32>
  %b = relay.layout_transform %a {src_layout = "NCHW8c", dst_layout = "NCHW"} : (tensor<1x2x4x4x8xf32>) -> tensor<1x16x4x4xf32>
  %c = relay.relu %b : tensor<1x16x4x4xf32>
  %d = relay.layout_transform %c {src_layout = "NCHW", dst_layout = "NCHW16c"} : (tensor<1x16x4x4xf32>) -> tensor<1x1x4x4x16xf32>
  %e = relay.layout_transform %d {src_layout = "NCHW16c", dst_layout = "NCHW8c"} : (tensor<1x1x4x4x16xf32>) -> tensor<1x2x4x4x8xf32>
  %f = relay.layout_transform %e {src_layout = "NCHW8c", dst_layout = "NCHW"} : (tensor<1x2x4x4x8xf32>) -> tensor<1x16x4x4xf32>
  func.return %f : tensor<1x16x4x4xf32>
}

// A chain that ends elsewhere merges into one transform.
// CHECK-LABEL: func.func @merge
// CHECK-NEXT:    %b = relay.layout_transform %x {src_layout = "NCHW", dst_layout = "NCHW4c"} : (tensor<1x16x4x4xf32>) -> tensor<1x4x4x4x4xf32>
// CHECK-NEXT:    func.return %b
func.func @merge(%x: tensor<1x16x4x4xf32>) -> tensor<1x4x4x4x4xf32> {
  %a = relay.layout_transform %x {src_layout = "NCHW", dst_layout = "NCHW8c"} : (tensor<1x16x4x4xf32>) -> tensor<1x2x4x4x8xf32>
  %b = relay.layout_transform %a {src_layout = "NCHW8c", dst_layout = "NCHW4c"} : (tensor<1x2x4x4x8xf32>) -> tensor<1x4x4x4x4xf32>
  func.return %b : tensor<1x4x4x4x4xf32>
}
