// RUN: xtvm-opt %s --split-input-file --verify-diagnostics | filecheck %s

// CHECK: relay.grid_sample: cubic mode needs 2 spatial dims
func.func @cubic3d(%v: tensor<1x1x2x3x4xf32>, %g: tensor<1x1x1x2x3xf32>) -> tensor<1x1x1x1x2xf32> {
  %0 = relay.grid_sample %v, %g {mode = "cubic", padding_mode = "zeros", align_corners = 0 : i64} : (tensor<1x1x2x3x4xf32>, tensor<1x1x1x2x3xf32>) -> tensor<1x1x1x1x2xf32>
  func.return %0 : tensor<1x1x1x1x2xf32>
}

// -----

// CHECK: relay.grid_sample: data [1, 1, 3, 3] and grid [1, 2, 2, 3] do not match
func.func @grid(%x: tensor<1x1x3x3xf32>, %g: tensor<1x2x2x3xf32>) -> tensor<1x1x2x2xf32> {
  %0 = relay.grid_sample %x, %g {mode = "linear", padding_mode = "zeros", align_corners = 0 : i64} : (tensor<1x1x3x3xf32>, tensor<1x2x2x3xf32>) -> tensor<1x1x2x2xf32>
  func.return %0 : tensor<1x1x2x2xf32>
}
