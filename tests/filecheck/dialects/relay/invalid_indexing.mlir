// RUN: xtvm-opt %s --split-input-file --verify-diagnostics | filecheck %s

// CHECK: relay.take: indices must be an i32 or i64 tensor, got f32
func.func @take_float_indices(%x: tensor<4x5xf32>, %i: tensor<2xf32>) -> tensor<4x2xf32> {
  %t = relay.take %x, %i {axis = 1 : i64} : (tensor<4x5xf32>, tensor<2xf32>) -> tensor<4x2xf32>
  func.return %t : tensor<4x2xf32>
}

// -----

// CHECK: relay.gather_elements: indices shape [5, 2] exceeds data shape [4, 5] outside axis 1
func.func @gather_elements_too_big(%x: tensor<4x5xf32>, %i: tensor<5x2xi64>) -> tensor<5x2xf32> {
  %g = relay.gather_elements %x, %i {axis = 1 : i64} : (tensor<4x5xf32>, tensor<5x2xi64>) -> tensor<5x2xf32>
  func.return %g : tensor<5x2xf32>
}

// -----

// CHECK: relay.scatter_nd: updates shape [3] must be [3, 5] for indices [3, 1] and data [4, 5]
func.func @scatter_updates(%x: tensor<4x5xf32>, %i: tensor<3x1xi64>, %u: tensor<3xf32>) -> tensor<4x5xf32> {
  %s = relay.scatter_nd %x, %i, %u {reduction = "none"} : (tensor<4x5xf32>, tensor<3x1xi64>, tensor<3xf32>) -> tensor<4x5xf32>
  func.return %s : tensor<4x5xf32>
}

// -----

// CHECK: relay.scatter_nd: reduction 'xor' is not one of
func.func @scatter_reduction(%x: tensor<4x5xf32>, %i: tensor<3x1xi64>, %u: tensor<3x5xf32>) -> tensor<4x5xf32> {
  %s = relay.scatter_nd %x, %i, %u {reduction = "xor"} : (tensor<4x5xf32>, tensor<3x1xi64>, tensor<3x5xf32>) -> tensor<4x5xf32>
  func.return %s : tensor<4x5xf32>
}

// -----

// CHECK: relay.tile: 1 repeats for a rank-2 input
func.func @tile_reps(%x: tensor<4x5xf32>) -> tensor<8x5xf32> {
  %t = relay.tile %x {reps = array<i64: 2>} : (tensor<4x5xf32>) -> tensor<8x5xf32>
  func.return %t : tensor<8x5xf32>
}

// -----

// CHECK: relay.broadcast_to: cannot broadcast [4, 5] to [2, 5]
func.func @broadcast_bad(%x: tensor<4x5xf32>) -> tensor<2x5xf32> {
  %b = relay.broadcast_to %x : (tensor<4x5xf32>) -> tensor<2x5xf32>
  func.return %b : tensor<2x5xf32>
}
