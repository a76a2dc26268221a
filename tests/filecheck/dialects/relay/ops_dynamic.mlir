// RUN: xtvm-opt %s | xtvm-opt | filecheck %s
// RUN: xtvm-opt %s --print-op-generic | xtvm-opt | filecheck %s

// Bounded-output ops: static bound shapes, the real length is a separate i64 scalar.

// CHECK-LABEL: func.func @dynamic
func.func @dynamic(%m: tensor<6xi1>, %x: tensor<5x2xf32>, %b: tensor<1x4x4xf32>, %s: tensor<1x2x4xf32>, %k: tensor<i64>, %t: tensor<f32>) -> tensor<6xi64> {
  // CHECK: %0 = relay.mask_positions %m : (tensor<6xi1>) -> tensor<6xi64>
  %0 = relay.mask_positions %m : (tensor<6xi1>) -> tensor<6xi64>
  // CHECK: %1 = relay.unique %x {sorted = 1 : i64, output = "indices"} : (tensor<5x2xf32>) -> tensor<5xi64>
  %1 = relay.unique %x {sorted = 1 : i64, output = "indices"} : (tensor<5x2xf32>) -> tensor<5xi64>
  // CHECK: %2 = relay.unique %x {sorted = 0 : i64, output = "count"} : (tensor<5x2xf32>) -> tensor<i64>
  %2 = relay.unique %x {sorted = 0 : i64, output = "count"} : (tensor<5x2xf32>) -> tensor<i64>
  // CHECK: %3 = relay.nms %b, %s, %k, %t, %t {center_point_box = 0 : i64, per_class = 3 : i64, output = "indices"} : (tensor<1x4x4xf32>, tensor<1x2x4xf32>, tensor<i64>, tensor<f32>, tensor<f32>) -> tensor<6x3xi64>
  %3 = relay.nms %b, %s, %k, %t, %t {center_point_box = 0 : i64, per_class = 3 : i64, output = "indices"} : (tensor<1x4x4xf32>, tensor<1x2x4xf32>, tensor<i64>, tensor<f32>, tensor<f32>) -> tensor<6x3xi64>
  // CHECK: func.return %0 : tensor<6xi64>
  func.return %0 : tensor<6xi64>
}
