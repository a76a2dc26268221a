// RUN: xtvm-opt %s | xtvm-opt | filecheck %s
// RUN: xtvm-opt %s --print-op-generic | xtvm-opt | filecheck %s

// CHECK-LABEL: func.func @image
func.func @image(%x: tensor<1x8x4x6xf32>, %w: tensor<8x3x3x3xf32>, %a: tensor<2x3xf32>, %b: tensor<3x4xf32>) -> tensor<1x8x4x6xf32> {
  // CHECK: %0 = relay.pad %x {pad_before = array<i64: 0, 0, 1, 2>, pad_after = array<i64: 0, 0, 2, 1>, mode = "reflect", pad_value = 0.000000e+00 : f64} : (tensor<1x8x4x6xf32>) -> tensor<1x8x7x9xf32>
  %0 = relay.pad %x {pad_before = array<i64: 0, 0, 1, 2>, pad_after = array<i64: 0, 0, 2, 1>, mode = "reflect", pad_value = 0.000000e+00 : f64} : (tensor<1x8x4x6xf32>) -> tensor<1x8x7x9xf32>
  // CHECK: %1 = relay.resize %x {scales = array<f32: 1.000000e+00, 1.000000e+00, 2.000000e+00, 1.500000e+00>, roi = array<f32: 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 1.000000e+00, 1.000000e+00, 1.000000e+00, 1.000000e+00>, method = "linear", coordinate_transformation_mode = "half_pixel", nearest_mode = "round_prefer_floor", cubic_coeff_a = -7.500000e-01 : f32, exclude_outside = 0 : i64, extrapolation_value = 0.000000e+00 : f32} : (tensor<1x8x4x6xf32>) -> tensor<1x8x8x9xf32>
  %1 = relay.resize %x {scales = array<f32: 1.0, 1.0, 2.0, 1.5>, roi = array<f32: 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0>, method = "linear", coordinate_transformation_mode = "half_pixel", nearest_mode = "round_prefer_floor", cubic_coeff_a = -7.500000e-01 : f32, exclude_outside = 0 : i64, extrapolation_value = 0.000000e+00 : f32} : (tensor<1x8x4x6xf32>) -> tensor<1x8x8x9xf32>
  // CHECK: %2 = relay.depth_to_space %x {block_size = 2 : i64, mode = "CRD"} : (tensor<1x8x4x6xf32>) -> tensor<1x2x8x12xf32>
  %2 = relay.depth_to_space %x {block_size = 2 : i64, mode = "CRD"} : (tensor<1x8x4x6xf32>) -> tensor<1x2x8x12xf32>
  // CHECK: %3 = relay.space_to_depth %2 {block_size = 2 : i64, mode = "DCR"} : (tensor<1x2x8x12xf32>) -> tensor<1x8x4x6xf32>
  %3 = relay.space_to_depth %2 {block_size = 2 : i64, mode = "DCR"} : (tensor<1x2x8x12xf32>) -> tensor<1x8x4x6xf32>
  // CHECK: %4 = relay.einsum %a, %b {equation = "ij,jk->ik"} : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  %4 = relay.einsum %a, %b {equation = "ij,jk->ik"} : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  // CHECK: %5 = relay.conv2d_transpose %x, %w {strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>, dilation = array<i64: 1, 1>, output_padding = array<i64: 1, 0>, groups = 1 : i64} : (tensor<1x8x4x6xf32>, tensor<8x3x3x3xf32>) -> tensor<1x3x8x11xf32>
  %5 = relay.conv2d_transpose %x, %w {strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>, dilation = array<i64: 1, 1>, output_padding = array<i64: 1, 0>, groups = 1 : i64} : (tensor<1x8x4x6xf32>, tensor<8x3x3x3xf32>) -> tensor<1x3x8x11xf32>
  func.return %3 : tensor<1x8x4x6xf32>
}
