// RUN: xtvm-opt %s | xtvm-opt | filecheck %s
// RUN: xtvm-opt %s --print-op-generic | xtvm-opt | filecheck %s

// CHECK-LABEL: func.func @sampling
func.func @sampling(%x: tensor<1x3x5x6xf32>, %g: tensor<1x4x7x2xf32>, %v: tensor<2x3x4x5x6xf32>, %g3: tensor<2x2x3x4x3xf32>) -> tensor<1x3x4x7xf32> {
  // CHECK: %0 = relay.grid_sample %x, %g {mode = "cubic", padding_mode = "reflection", align_corners = 1 : i64} : (tensor<1x3x5x6xf32>, tensor<1x4x7x2xf32>) -> tensor<1x3x4x7xf32>
  %0 = relay.grid_sample %x, %g {mode = "cubic", padding_mode = "reflection", align_corners = 1 : i64} : (tensor<1x3x5x6xf32>, tensor<1x4x7x2xf32>) -> tensor<1x3x4x7xf32>
  // CHECK: %1 = relay.grid_sample %v, %g3 {mode = "linear", padding_mode = "zeros", align_corners = 0 : i64} : (tensor<2x3x4x5x6xf32>, tensor<2x2x3x4x3xf32>) -> tensor<2x3x2x3x4xf32>
  %1 = relay.grid_sample %v, %g3 {mode = "linear", padding_mode = "zeros", align_corners = 0 : i64} : (tensor<2x3x4x5x6xf32>, tensor<2x2x3x4x3xf32>) -> tensor<2x3x2x3x4xf32>
  func.return %0 : tensor<1x3x4x7xf32>
}

// CHECK-LABEL: func.func @roi
func.func @roi(%x: tensor<2x3x8x9xf32>, %r: tensor<5x4xf32>, %b: tensor<5xi64>) -> tensor<5x3x2x3xf32> {
  // CHECK: %0 = relay.roi_align %x, %r, %b {mode = "max", output_size = array<i64: 2, 3>, sampling_ratio = 2 : i64, spatial_scale = 5.000000e-01 : f64, half_pixel = 1 : i64} : (tensor<2x3x8x9xf32>, tensor<5x4xf32>, tensor<5xi64>) -> tensor<5x3x2x3xf32>
  %0 = relay.roi_align %x, %r, %b {mode = "max", output_size = array<i64: 2, 3>, sampling_ratio = 2 : i64, spatial_scale = 5.000000e-01 : f64, half_pixel = 1 : i64} : (tensor<2x3x8x9xf32>, tensor<5x4xf32>, tensor<5xi64>) -> tensor<5x3x2x3xf32>
  func.return %0 : tensor<5x3x2x3xf32>
}
