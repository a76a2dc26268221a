// RUN: xtvm-opt %s --split-input-file --verify-diagnostics | filecheck %s

// CHECK: relay.mask_positions: mask must be a 1-D i1 tensor
func.func @mask_rank(%m: tensor<2x3xi1>) -> tensor<2x3xi64> {
  %0 = relay.mask_positions %m : (tensor<2x3xi1>) -> tensor<2x3xi64>
  func.return %0 : tensor<2x3xi64>
}

// -----

// CHECK: relay.unique: data must be 1-D [n] or 2-D [n, m]
func.func @unique_rank(%x: tensor<5x2x2xf32>) -> tensor<5xi64> {
  %0 = relay.unique %x {sorted = 1 : i64, output = "indices"} : (tensor<5x2x2xf32>) -> tensor<5xi64>
  func.return %0 : tensor<5xi64>
}

// -----

// CHECK: relay.unique: output must be one of
func.func @unique_output(%x: tensor<5x1xf32>) -> tensor<5xi64> {
  %0 = relay.unique %x {sorted = 1 : i64, output = "values"} : (tensor<5x1xf32>) -> tensor<5xi64>
  func.return %0 : tensor<5xi64>
}

// -----

// CHECK: relay.nms: per_class=5 outside [0, 4]
func.func @nms_bound(%b: tensor<1x4x4xf32>, %s: tensor<1x2x4xf32>, %k: tensor<i64>, %t: tensor<f32>) -> tensor<10x3xi64> {
  %0 = relay.nms %b, %s, %k, %t, %t {center_point_box = 0 : i64, per_class = 5 : i64, output = "indices"} : (tensor<1x4x4xf32>, tensor<1x2x4xf32>, tensor<i64>, tensor<f32>, tensor<f32>) -> tensor<10x3xi64>
  func.return %0 : tensor<10x3xi64>
}

// -----

// CHECK: relay.nms: boxes must be [B, N, 4] and scores [B, C, N]
func.func @nms_shapes(%b: tensor<1x4x4xf32>, %s: tensor<1x2x3xf32>, %k: tensor<i64>, %t: tensor<f32>) -> tensor<i64> {
  %0 = relay.nms %b, %s, %k, %t, %t {center_point_box = 0 : i64, per_class = 3 : i64, output = "count"} : (tensor<1x4x4xf32>, tensor<1x2x3xf32>, tensor<i64>, tensor<f32>, tensor<f32>) -> tensor<i64>
  func.return %0 : tensor<i64>
}
