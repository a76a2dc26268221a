// RUN: xtvm-opt %s | xtvm-opt | filecheck %s
// RUN: xtvm-opt %s --print-op-generic | xtvm-opt | filecheck %s

// CHECK-LABEL: func.func @rnn_cells
func.func @rnn_cells(%xl: tensor<6x16xf32>, %sl: tensor<2x8xf32>, %wl: tensor<16x4xf32>, %xg: tensor<6x12xf32>, %sg: tensor<2x4xf32>, %wg: tensor<12x4xf32>, %bg: tensor<4xf32>, %xr: tensor<6x4xf32>, %wr: tensor<4x4xf32>) -> (tensor<2x8xf32>, tensor<2x4xf32>, tensor<2x4xf32>) {
  // CHECK: %0 = relay.rnn_cell %xl, %sl, %wl {mode = "lstm", step_begin = 4 : i64, row_stride = 1 : i64} : (tensor<6x16xf32>, tensor<2x8xf32>, tensor<16x4xf32>) -> tensor<2x8xf32>
  %0 = relay.rnn_cell %xl, %sl, %wl {mode = "lstm", step_begin = 4 : i64, row_stride = 1 : i64} : (tensor<6x16xf32>, tensor<2x8xf32>, tensor<16x4xf32>) -> tensor<2x8xf32>
  // CHECK: %1 = relay.rnn_cell %xg, %sg, %wg, %bg {mode = "gru", step_begin = 2 : i64, row_stride = 3 : i64} : (tensor<6x12xf32>, tensor<2x4xf32>, tensor<12x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  %1 = relay.rnn_cell %xg, %sg, %wg, %bg {mode = "gru", step_begin = 2 : i64, row_stride = 3 : i64} : (tensor<6x12xf32>, tensor<2x4xf32>, tensor<12x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  // CHECK: %2 = relay.rnn_cell %xr, %sg, %wr {mode = "rnn", step_begin = 0 : i64, row_stride = 1 : i64} : (tensor<6x4xf32>, tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  %2 = relay.rnn_cell %xr, %sg, %wr {mode = "rnn", step_begin = 0 : i64, row_stride = 1 : i64} : (tensor<6x4xf32>, tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  func.return %0, %1, %2 : tensor<2x8xf32>, tensor<2x4xf32>, tensor<2x4xf32>
}
