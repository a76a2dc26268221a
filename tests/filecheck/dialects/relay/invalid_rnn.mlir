// RUN: xtvm-opt %s --split-input-file --verify-diagnostics | filecheck %s

// CHECK: relay.rnn_cell: lstm needs weight [4 * H, H] and xw [rows, 4 * H]; got weight [12, 4], xw [6, 16]
func.func @gates(%x: tensor<6x16xf32>, %s: tensor<2x8xf32>, %w: tensor<12x4xf32>) -> tensor<2x8xf32> {
  %0 = relay.rnn_cell %x, %s, %w {mode = "lstm", step_begin = 0 : i64, row_stride = 1 : i64} : (tensor<6x16xf32>, tensor<2x8xf32>, tensor<12x4xf32>) -> tensor<2x8xf32>
  func.return %0 : tensor<2x8xf32>
}

// -----

// CHECK: relay.rnn_cell: step rows 5..7 outside [0, 6)
func.func @rows(%x: tensor<6x4xf32>, %s: tensor<2x4xf32>, %w: tensor<4x4xf32>) -> tensor<2x4xf32> {
  %0 = relay.rnn_cell %x, %s, %w {mode = "rnn", step_begin = 5 : i64, row_stride = 2 : i64} : (tensor<6x4xf32>, tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  func.return %0 : tensor<2x4xf32>
}

// -----

// CHECK: relay.rnn_cell: a [H] bias is required for gru, and only there
func.func @gru_bias(%x: tensor<6x12xf32>, %s: tensor<2x4xf32>, %w: tensor<12x4xf32>) -> tensor<2x4xf32> {
  %0 = relay.rnn_cell %x, %s, %w {mode = "gru", step_begin = 0 : i64, row_stride = 1 : i64} : (tensor<6x12xf32>, tensor<2x4xf32>, tensor<12x4xf32>) -> tensor<2x4xf32>
  func.return %0 : tensor<2x4xf32>
}

// -----

// CHECK: relay.rnn_cell: mode 'cell' is not lstm, gru or rnn
func.func @mode(%x: tensor<6x4xf32>, %s: tensor<2x4xf32>, %w: tensor<4x4xf32>) -> tensor<2x4xf32> {
  %0 = relay.rnn_cell %x, %s, %w {mode = "cell", step_begin = 0 : i64, row_stride = 1 : i64} : (tensor<6x4xf32>, tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  func.return %0 : tensor<2x4xf32>
}
