// RUN: xtvm-opt %s --split-input-file --verify-diagnostics | filecheck %s

// CHECK: relay.layout_transform: layout 'NCHW0c': sub-axis c needs a positive factor
func.func @bad_layout(%x: tensor<1x16x4x4xf32>) -> tensor<1x16x4x4xf32> {
  %0 = relay.layout_transform %x {src_layout = "NCHW", dst_layout = "NCHW0c"} : (tensor<1x16x4x4xf32>) -> tensor<1x16x4x4xf32>
  func.return %0 : tensor<1x16x4x4xf32>
}

// -----

// CHECK: relay.layout_transform: layout NCHW8c: C=12 is not divisible by 8
func.func @not_divisible(%x: tensor<1x12x4x4xf32>) -> tensor<1x12x4x4xf32> {
  %0 = relay.layout_transform %x {src_layout = "NCHW", dst_layout = "NCHW8c"} : (tensor<1x12x4x4xf32>) -> tensor<1x12x4x4xf32>
  func.return %0 : tensor<1x12x4x4xf32>
}

// -----

// CHECK: relay.layout_transform: layouts NCHW and OIHW have different primal axes
func.func @other_axes(%x: tensor<1x16x4x4xf32>) -> tensor<1x16x4x4xf32> {
  %0 = relay.layout_transform %x {src_layout = "NCHW", dst_layout = "OIHW"} : (tensor<1x16x4x4xf32>) -> tensor<1x16x4x4xf32>
  func.return %0 : tensor<1x16x4x4xf32>
}

// -----

// CHECK: relay.layout_transform: layout NCHW8c: sub-axis c must have 8 elements, got 4
func.func @wrong_block(%x: tensor<1x2x4x4x4xf32>) -> tensor<1x16x4x4xf32> {
  %0 = relay.layout_transform %x {src_layout = "NCHW8c", dst_layout = "NCHW"} : (tensor<1x2x4x4x4xf32>) -> tensor<1x16x4x4xf32>
  func.return %0 : tensor<1x16x4x4xf32>
}

// -----

// CHECK: relay.layout_transform: result type tensor<1x16x4x4xf32> does not match the inferred type tensor<1x2x4x4x8xf32>
func.func @wrong_result(%x: tensor<1x16x4x4xf32>) -> tensor<1x16x4x4xf32> {
  %0 = relay.layout_transform %x {src_layout = "NCHW", dst_layout = "NCHW8c"} : (tensor<1x16x4x4xf32>) -> tensor<1x16x4x4xf32>
  func.return %0 : tensor<1x16x4x4xf32>
}

// -----

// CHECK: relay.conv2d_nchwc: kernel input blocks 2x4 do not match data 1x8
func.func @conv_blocks(%x: tensor<1x1x4x4x8xf32>, %k: tensor<1x2x3x3x4x8xf32>) -> tensor<1x1x2x2x8xf32> {
  %0 = relay.conv2d_nchwc %x, %k {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, dilation = array<i64: 1, 1>, depthwise = 0 : i64} : (tensor<1x1x4x4x8xf32>, tensor<1x2x3x3x4x8xf32>) -> tensor<1x1x2x2x8xf32>
  func.return %0 : tensor<1x1x2x2x8xf32>
}

// -----

// CHECK: relay.conv2d_nchwc: kernel input blocks 1x4 in each of 4 groups do not match data 2x8
func.func @group_blocks(%x: tensor<1x2x4x4x8xf32>, %k: tensor<4x1x3x3x4x8xf32>) -> tensor<1x4x2x2x8xf32> {
  %0 = relay.conv2d_nchwc %x, %k {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, dilation = array<i64: 1, 1>, depthwise = 0 : i64, groups = 4 : i64} : (tensor<1x2x4x4x8xf32>, tensor<4x1x3x3x4x8xf32>) -> tensor<1x4x2x2x8xf32>
  func.return %0 : tensor<1x4x2x2x8xf32>
}

// -----

// CHECK: relay.conv2d_nchwc: 3 output blocks of 8 do not split into 2 groups
func.func @group_out_blocks(%x: tensor<1x2x4x4x8xf32>, %k: tensor<3x1x3x3x8x8xf32>) -> tensor<1x3x2x2x8xf32> {
  %0 = relay.conv2d_nchwc %x, %k {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, dilation = array<i64: 1, 1>, depthwise = 0 : i64, groups = 2 : i64} : (tensor<1x2x4x4x8xf32>, tensor<3x1x3x3x8x8xf32>) -> tensor<1x3x2x2x8xf32>
  func.return %0 : tensor<1x3x2x2x8xf32>
}

// -----

// CHECK: relay.conv2d_nchwc: groups must be >= 1 (and 1 when depthwise), got 2
func.func @depthwise_groups(%x: tensor<1x2x4x4x8xf32>, %k: tensor<2x1x3x3x1x8xf32>) -> tensor<1x2x2x2x8xf32> {
  %0 = relay.conv2d_nchwc %x, %k {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, dilation = array<i64: 1, 1>, depthwise = 1 : i64, groups = 2 : i64} : (tensor<1x2x4x4x8xf32>, tensor<2x1x3x3x1x8xf32>) -> tensor<1x2x2x2x8xf32>
  func.return %0 : tensor<1x2x2x2x8xf32>
}

// -----

// CHECK: relay.conv2d_nchwc: depthwise kernel [2, 1, 3, 3, 1, 8] must be [1, 1, KH, KW, 1, 8]
func.func @depthwise_blocks(%x: tensor<1x1x4x4x8xf32>, %k: tensor<2x1x3x3x1x8xf32>) -> tensor<1x2x2x2x8xf32> {
  %0 = relay.conv2d_nchwc %x, %k {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, dilation = array<i64: 1, 1>, depthwise = 1 : i64} : (tensor<1x1x4x4x8xf32>, tensor<2x1x3x3x1x8xf32>) -> tensor<1x2x2x2x8xf32>
  func.return %0 : tensor<1x2x2x2x8xf32>
}

// -----

// CHECK: relay.conv2d_nchwc: expects a rank-5 tensor, got tensor<1x8x4x4xf32>
func.func @conv_rank(%x: tensor<1x8x4x4xf32>, %k: tensor<1x1x3x3x8x8xf32>) -> tensor<1x1x2x2x8xf32> {
  %0 = relay.conv2d_nchwc %x, %k {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, dilation = array<i64: 1, 1>, depthwise = 0 : i64} : (tensor<1x8x4x4xf32>, tensor<1x1x3x3x8x8xf32>) -> tensor<1x1x2x2x8xf32>
  func.return %0 : tensor<1x1x2x2x8xf32>
}

// -----

// CHECK: relay.conv2d_nchwc: strides must be >= 1, got [0, 1]
func.func @conv_strides(%x: tensor<1x1x4x4x8xf32>, %k: tensor<1x1x3x3x8x8xf32>) -> tensor<1x1x2x2x8xf32> {
  %0 = relay.conv2d_nchwc %x, %k {strides = array<i64: 0, 1>, padding = array<i64: 0, 0, 0, 0>, dilation = array<i64: 1, 1>, depthwise = 0 : i64} : (tensor<1x1x4x4x8xf32>, tensor<1x1x3x3x8x8xf32>) -> tensor<1x1x2x2x8xf32>
  func.return %0 : tensor<1x1x2x2x8xf32>
}

// -----

// CHECK: relay.dense_pack: reduction dims differ: data [2, 32], weight [2, 64, 16]
func.func @dense_pack_k(%x: tensor<2x32xf32>, %w: tensor<2x64x16xf32>) -> tensor<2x32xf32> {
  %0 = relay.dense_pack %x, %w : (tensor<2x32xf32>, tensor<2x64x16xf32>) -> tensor<2x32xf32>
  func.return %0 : tensor<2x32xf32>
}

// -----

// CHECK: relay.max_pool2d_nchwc: expects a rank-5 NCHWc tensor, got tensor<1x8x4x4xf32>
func.func @pool_rank(%x: tensor<1x8x4x4xf32>) -> tensor<1x8x2x2xf32> {
  %0 = relay.max_pool2d_nchwc %x {pool_size = array<i64: 2, 2>, strides = array<i64: 2, 2>, padding = array<i64: 0, 0, 0, 0>, dilation = array<i64: 1, 1>, ceil_mode = 0 : i64} : (tensor<1x8x4x4xf32>) -> tensor<1x8x2x2xf32>
  func.return %0 : tensor<1x8x2x2xf32>
}

// -----

// CHECK: relay.global_avg_pool2d_nchwc: result type tensor<1x1x1x1x4xf32> does not match the inferred type tensor<1x1x1x1x8xf32>
func.func @global_pool_block(%x: tensor<1x1x4x4x8xf32>) -> tensor<1x1x1x1x4xf32> {
  %0 = relay.global_avg_pool2d_nchwc %x : (tensor<1x1x4x4x8xf32>) -> tensor<1x1x1x1x4xf32>
  func.return %0 : tensor<1x1x1x1x4xf32>
}
