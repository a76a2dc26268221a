// RUN: xtvm-opt %s | xtvm-opt | filecheck %s
// RUN: xtvm-opt %s --print-op-generic | xtvm-opt | filecheck %s

// The blocked-layout ops of relay-alter-layout: transforms, NCHWc convolution and pooling,
// packed dense.
// CHECK-LABEL: func.func @layout
func.func @layout(%x: tensor<1x16x8x8xf32>, %w: tensor<32x16x3x3xf32>, %d: tensor<2x64xf32>, %p: tensor<2x64x16xf32>) -> tensor<1x32x8x8xf32> {
  // CHECK-NEXT: %a = relay.layout_transform %x {src_layout = "NCHW", dst_layout = "NCHW8c"} : (tensor<1x16x8x8xf32>) -> tensor<1x2x8x8x8xf32>
  %a = relay.layout_transform %x {src_layout = "NCHW", dst_layout = "NCHW8c"} : (tensor<1x16x8x8xf32>) -> tensor<1x2x8x8x8xf32>
  // CHECK-NEXT: %k = relay.layout_transform %w {src_layout = "OIHW", dst_layout = "OIHW8i16o"} : (tensor<32x16x3x3xf32>) -> tensor<2x2x3x3x8x16xf32>
  %k = relay.layout_transform %w {src_layout = "OIHW", dst_layout = "OIHW8i16o"} : (tensor<32x16x3x3xf32>) -> tensor<2x2x3x3x8x16xf32>
  // CHECK-NEXT: %c = relay.conv2d_nchwc %a, %k {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, dilation = array<i64: 1, 1>, depthwise = 0 : i64} : (tensor<1x2x8x8x8xf32>, tensor<2x2x3x3x8x16xf32>) -> tensor<1x2x8x8x16xf32>
  %c = relay.conv2d_nchwc %a, %k {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, dilation = array<i64: 1, 1>, depthwise = 0 : i64} : (tensor<1x2x8x8x8xf32>, tensor<2x2x3x3x8x16xf32>) -> tensor<1x2x8x8x16xf32>
  // CHECK-NEXT: %m = relay.max_pool2d_nchwc %c {pool_size = array<i64: 2, 2>, strides = array<i64: 2, 2>, padding = array<i64: 0, 0, 0, 0>, dilation = array<i64: 1, 1>, ceil_mode = 0 : i64} : (tensor<1x2x8x8x16xf32>) -> tensor<1x2x4x4x16xf32>
  %m = relay.max_pool2d_nchwc %c {pool_size = array<i64: 2, 2>, strides = array<i64: 2, 2>, padding = array<i64: 0, 0, 0, 0>, dilation = array<i64: 1, 1>, ceil_mode = 0 : i64} : (tensor<1x2x8x8x16xf32>) -> tensor<1x2x4x4x16xf32>
  // CHECK-NEXT: %v = relay.avg_pool2d_nchwc %c {pool_size = array<i64: 3, 3>, strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, dilation = array<i64: 1, 1>, ceil_mode = 0 : i64, count_include_pad = 1 : i64} : (tensor<1x2x8x8x16xf32>) -> tensor<1x2x8x8x16xf32>
  %v = relay.avg_pool2d_nchwc %c {pool_size = array<i64: 3, 3>, strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, dilation = array<i64: 1, 1>, ceil_mode = 0 : i64, count_include_pad = 1 : i64} : (tensor<1x2x8x8x16xf32>) -> tensor<1x2x8x8x16xf32>
  // CHECK-NEXT: %g = relay.global_avg_pool2d_nchwc %c : (tensor<1x2x8x8x16xf32>) -> tensor<1x2x1x1x16xf32>
  %g = relay.global_avg_pool2d_nchwc %c : (tensor<1x2x8x8x16xf32>) -> tensor<1x2x1x1x16xf32>
  // CHECK-NEXT: %e = relay.dense_pack %d, %p : (tensor<2x64xf32>, tensor<2x64x16xf32>) -> tensor<2x32xf32>
  %e = relay.dense_pack %d, %p : (tensor<2x64xf32>, tensor<2x64x16xf32>) -> tensor<2x32xf32>
  // CHECK-NEXT: %o = relay.layout_transform %c {src_layout = "NCHW16c", dst_layout = "NCHW"} : (tensor<1x2x8x8x16xf32>) -> tensor<1x32x8x8xf32>
  %o = relay.layout_transform %c {src_layout = "NCHW16c", dst_layout = "NCHW"} : (tensor<1x2x8x8x16xf32>) -> tensor<1x32x8x8xf32>
  // CHECK-NEXT: func.return %o : tensor<1x32x8x8xf32>
  func.return %o : tensor<1x32x8x8xf32>
}

// A grouped conv: 4 groups of 2 input blocks of 4 (kernel [O/ob, C/G/cb, ...]) and 2 output
// blocks of 8; groups left out means 1.
// CHECK-LABEL: func.func @grouped
func.func @grouped(%x: tensor<1x8x6x6x4xf32>, %k: tensor<8x2x3x3x4x8xf32>, %u: tensor<4x8x1x1x4x8xf32>) -> tensor<1x8x3x3x8xf32> {
  // CHECK-NEXT: %0 = relay.conv2d_nchwc %x, %k {strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>, dilation = array<i64: 1, 1>, depthwise = 0 : i64, groups = 4 : i64} : (tensor<1x8x6x6x4xf32>, tensor<8x2x3x3x4x8xf32>) -> tensor<1x8x3x3x8xf32>
  %0 = relay.conv2d_nchwc %x, %k {strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>, dilation = array<i64: 1, 1>, depthwise = 0 : i64, groups = 4 : i64} : (tensor<1x8x6x6x4xf32>, tensor<8x2x3x3x4x8xf32>) -> tensor<1x8x3x3x8xf32>
  // CHECK-NEXT: %1 = relay.conv2d_nchwc %x, %u {strides = array<i64: 2, 2>, padding = array<i64: 0, 0, 0, 0>, dilation = array<i64: 1, 1>, depthwise = 0 : i64} : (tensor<1x8x6x6x4xf32>, tensor<4x8x1x1x4x8xf32>) -> tensor<1x4x3x3x8xf32>
  %1 = relay.conv2d_nchwc %x, %u {strides = array<i64: 2, 2>, padding = array<i64: 0, 0, 0, 0>, dilation = array<i64: 1, 1>, depthwise = 0 : i64} : (tensor<1x8x6x6x4xf32>, tensor<4x8x1x1x4x8xf32>) -> tensor<1x4x3x3x8xf32>
  func.return %0 : tensor<1x8x3x3x8xf32>
}

// Depthwise kernels have one input channel per group; a block can also be regrouped.
// CHECK-LABEL: func.func @depthwise
func.func @depthwise(%x: tensor<1x4x5x5x8xf32>, %k: tensor<4x1x3x3x1x8xf32>) -> tensor<1x2x3x3x16xf32> {
  // CHECK-NEXT: %0 = relay.conv2d_nchwc %x, %k {strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>, dilation = array<i64: 1, 1>, depthwise = 1 : i64} : (tensor<1x4x5x5x8xf32>, tensor<4x1x3x3x1x8xf32>) -> tensor<1x4x3x3x8xf32>
  %0 = relay.conv2d_nchwc %x, %k {strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>, dilation = array<i64: 1, 1>, depthwise = 1 : i64} : (tensor<1x4x5x5x8xf32>, tensor<4x1x3x3x1x8xf32>) -> tensor<1x4x3x3x8xf32>
  // CHECK-NEXT: %1 = relay.layout_transform %0 {src_layout = "NCHW8c", dst_layout = "NCHW16c"} : (tensor<1x4x3x3x8xf32>) -> tensor<1x2x3x3x16xf32>
  %1 = relay.layout_transform %0 {src_layout = "NCHW8c", dst_layout = "NCHW16c"} : (tensor<1x4x3x3x8xf32>) -> tensor<1x2x3x3x16xf32>
  func.return %1 : tensor<1x2x3x3x16xf32>
}
