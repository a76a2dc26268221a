// RUN: xtvm-opt %s --split-input-file --verify-diagnostics | filecheck %s

// CHECK: relay.reduce: unknown kind 'median'
func.func @unknown_kind(%x: tensor<2x3xf32>) -> tensor<2xf32> {
  %0 = relay.reduce %x {kind = "median", axes = array<i64: 1>, keepdims = false} : (tensor<2x3xf32>) -> tensor<2xf32>
  func.return %0 : tensor<2xf32>
}

// -----

// CHECK: relay.reduce: axis 2 out of range for rank 2
func.func @axis_range(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %0 = relay.reduce %x {kind = "sum", axes = array<i64: 2>, keepdims = true} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %0 : tensor<2x3xf32>
}

// -----

// CHECK: relay.reduce: expects floating-point tensors
func.func @mean_int(%x: tensor<2x3xi64>) -> tensor<2xi64> {
  %0 = relay.reduce %x {kind = "mean", axes = array<i64: 1>, keepdims = false} : (tensor<2x3xi64>) -> tensor<2xi64>
  func.return %0 : tensor<2xi64>
}

// -----

// CHECK: does not match the inferred type tensor<2xi64>
func.func @argmax_type(%x: tensor<2x3xf32>) -> tensor<2xf32> {
  %0 = relay.argmax %x {axis = 1 : i64, keepdims = false, select_last_index = false} : (tensor<2x3xf32>) -> tensor<2xf32>
  func.return %0 : tensor<2xf32>
}

// -----

// CHECK: relay.topk: k=7 outside [0, 6]
func.func @topk_k(%x: tensor<2x6xf32>) -> tensor<2x7xf32> {
  %0 = relay.topk %x {k = 7 : i64, axis = 1 : i64, largest = true, ret_type = "values"} : (tensor<2x6xf32>) -> tensor<2x7xf32>
  func.return %0 : tensor<2x7xf32>
}

// -----

// CHECK: relay.layer_norm: tensor<3xf32> does not broadcast to the normalized dims
func.func @layer_norm_scale(%x: tensor<2x4xf32>, %s: tensor<3xf32>) -> tensor<2x4xf32> {
  %0 = relay.layer_norm %x, %s, %s {axis = 1 : i64, epsilon = 1.0e-05 : f32} : (tensor<2x4xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<2x4xf32>
  func.return %0 : tensor<2x4xf32>
}
