// RUN: xtvm-opt %s | xtvm-opt | filecheck %s
// RUN: xtvm-opt %s --print-op-generic | xtvm-opt | filecheck %s

// CHECK-LABEL: func.func @indexing
func.func @indexing(%x: tensor<4x5x6xf32>, %i: tensor<2x3xi64>, %g: tensor<4x2x6xi32>, %s: tensor<3x2xi64>, %u: tensor<3x6xf32>) -> tensor<4x5x6xf32> {
  // CHECK: %t = relay.take %x, %i {axis = 1 : i64} : (tensor<4x5x6xf32>, tensor<2x3xi64>) -> tensor<4x2x3x6xf32>
  %t = relay.take %x, %i {axis = 1 : i64} : (tensor<4x5x6xf32>, tensor<2x3xi64>) -> tensor<4x2x3x6xf32>
  // CHECK: %ge = relay.gather_elements %x, %g {axis = 1 : i64} : (tensor<4x5x6xf32>, tensor<4x2x6xi32>) -> tensor<4x2x6xf32>
  %ge = relay.gather_elements %x, %g {axis = 1 : i64} : (tensor<4x5x6xf32>, tensor<4x2x6xi32>) -> tensor<4x2x6xf32>
  // CHECK: %sc = relay.scatter_nd %x, %s, %u {reduction = "add"} : (tensor<4x5x6xf32>, tensor<3x2xi64>, tensor<3x6xf32>) -> tensor<4x5x6xf32>
  %sc = relay.scatter_nd %x, %s, %u {reduction = "add"} : (tensor<4x5x6xf32>, tensor<3x2xi64>, tensor<3x6xf32>) -> tensor<4x5x6xf32>
  // CHECK: %ti = relay.tile %x {reps = array<i64: 1, 2, 3>} : (tensor<4x5x6xf32>) -> tensor<4x10x18xf32>
  %ti = relay.tile %x {reps = array<i64: 1, 2, 3>} : (tensor<4x5x6xf32>) -> tensor<4x10x18xf32>
  // CHECK: %b = relay.broadcast_to %u : (tensor<3x6xf32>) -> tensor<2x3x6xf32>
  %b = relay.broadcast_to %u : (tensor<3x6xf32>) -> tensor<2x3x6xf32>
  // CHECK: %nd = relay.gather_nd %x, %s {batch_dims = 0 : i64} : (tensor<4x5x6xf32>, tensor<3x2xi64>) -> tensor<3x6xf32>
  %nd = relay.gather_nd %x, %s {batch_dims = 0 : i64} : (tensor<4x5x6xf32>, tensor<3x2xi64>) -> tensor<3x6xf32>
  // CHECK: %se = relay.scatter_elements %x, %g, %ge {axis = 1 : i64, reduction = "none"} : (tensor<4x5x6xf32>, tensor<4x2x6xi32>, tensor<4x2x6xf32>) -> tensor<4x5x6xf32>
  %se = relay.scatter_elements %x, %g, %ge {axis = 1 : i64, reduction = "none"} : (tensor<4x5x6xf32>, tensor<4x2x6xi32>, tensor<4x2x6xf32>) -> tensor<4x5x6xf32>
  func.return %sc : tensor<4x5x6xf32>
}
