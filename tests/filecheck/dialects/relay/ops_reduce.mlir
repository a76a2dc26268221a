// RUN: xtvm-opt %s | xtvm-opt | filecheck %s
// RUN: xtvm-opt %s --print-op-generic | xtvm-opt | filecheck %s

// CHECK-LABEL: func.func @reductions
func.func @reductions(%x: tensor<2x3x4xf32>, %n: tensor<5xi64>) -> tensor<3xf32> {
  // CHECK: %0 = relay.reduce %x {kind = "sum", axes = array<i64: 1>, keepdims = true} : (tensor<2x3x4xf32>) -> tensor<2x1x4xf32>
  %0 = relay.reduce %x {kind = "sum", axes = array<i64: 1>, keepdims = true} : (tensor<2x3x4xf32>) -> tensor<2x1x4xf32>
  // CHECK: %1 = relay.reduce %x {kind = "l2", axes = array<i64: 0, 2>, keepdims = false} : (tensor<2x3x4xf32>) -> tensor<3xf32>
  %1 = relay.reduce %x {kind = "l2", axes = array<i64: 0, 2>, keepdims = false} : (tensor<2x3x4xf32>) -> tensor<3xf32>
  // CHECK: %2 = relay.reduce %x {kind = "log_sum_exp", axes = array<i64>, keepdims = false} : (tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  %2 = relay.reduce %x {kind = "log_sum_exp", axes = array<i64>, keepdims = false} : (tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  // CHECK: %3 = relay.reduce %n {kind = "prod", axes = array<i64: 0>, keepdims = false} : (tensor<5xi64>) -> tensor<i64>
  %3 = relay.reduce %n {kind = "prod", axes = array<i64: 0>, keepdims = false} : (tensor<5xi64>) -> tensor<i64>
  // CHECK: %4 = relay.argmax %x {axis = 2 : i64, keepdims = false, select_last_index = true} : (tensor<2x3x4xf32>) -> tensor<2x3xi64>
  %4 = relay.argmax %x {axis = 2 : i64, keepdims = false, select_last_index = true} : (tensor<2x3x4xf32>) -> tensor<2x3xi64>
  // CHECK: %5 = relay.argmin %x {axis = 0 : i64, keepdims = true, select_last_index = false} : (tensor<2x3x4xf32>) -> tensor<1x3x4xi64>
  %5 = relay.argmin %x {axis = 0 : i64, keepdims = true, select_last_index = false} : (tensor<2x3x4xf32>) -> tensor<1x3x4xi64>
  // CHECK: func.return %1 : tensor<3xf32>
  func.return %1 : tensor<3xf32>
}

// CHECK-LABEL: func.func @normalizations
func.func @normalizations(%x: tensor<2x3x4xf32>, %s: tensor<4xf32>, %c: tensor<3xf32>) -> tensor<2x3x4xf32> {
  // CHECK: %0 = relay.log_softmax %x {axis = 1 : i64} : (tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  %0 = relay.log_softmax %x {axis = 1 : i64} : (tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  // CHECK: %1 = relay.hardmax %0 {axis = 2 : i64} : (tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  %1 = relay.hardmax %0 {axis = 2 : i64} : (tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  // CHECK: %2 = relay.layer_norm %1, %s, %s {axis = 2 : i64, epsilon = 1.000000e-05 : f32} : (tensor<2x3x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<2x3x4xf32>
  %2 = relay.layer_norm %1, %s, %s {axis = 2 : i64, epsilon = 1.0e-05 : f32} : (tensor<2x3x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<2x3x4xf32>
  // CHECK: %3 = relay.layer_norm %1, %s, %s {axis = 1 : i64, epsilon = 1.000000e-05 : f32, ret_type = "inv_std_dev"} : (tensor<2x3x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<2x1x1xf32>
  %3 = relay.layer_norm %1, %s, %s {axis = 1 : i64, epsilon = 1.0e-05 : f32, ret_type = "inv_std_dev"} : (tensor<2x3x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<2x1x1xf32>
  // CHECK: %4 = relay.instance_norm %2, %c, %c {epsilon = 1.000000e-03 : f32} : (tensor<2x3x4xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<2x3x4xf32>
  %4 = relay.instance_norm %2, %c, %c {epsilon = 1.0e-03 : f32} : (tensor<2x3x4xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<2x3x4xf32>
  // CHECK: func.return %4 : tensor<2x3x4xf32>
  func.return %4 : tensor<2x3x4xf32>
}

// CHECK-LABEL: func.func @sorting
func.func @sorting(%x: tensor<2x6xf32>) -> tensor<2x6xf32> {
  // CHECK: %0 = relay.topk %x {k = 3 : i64, axis = 1 : i64, largest = true, ret_type = "values"} : (tensor<2x6xf32>) -> tensor<2x3xf32>
  %0 = relay.topk %x {k = 3 : i64, axis = 1 : i64, largest = true, ret_type = "values"} : (tensor<2x6xf32>) -> tensor<2x3xf32>
  // CHECK: %1 = relay.topk %x {k = 1 : i64, axis = 0 : i64, largest = false, ret_type = "indices"} : (tensor<2x6xf32>) -> tensor<1x6xi64>
  %1 = relay.topk %x {k = 1 : i64, axis = 0 : i64, largest = false, ret_type = "indices"} : (tensor<2x6xf32>) -> tensor<1x6xi64>
  // CHECK: %2 = relay.cumsum %x {axis = 1 : i64, exclusive = true, reverse = false} : (tensor<2x6xf32>) -> tensor<2x6xf32>
  %2 = relay.cumsum %x {axis = 1 : i64, exclusive = true, reverse = false} : (tensor<2x6xf32>) -> tensor<2x6xf32>
  // CHECK: func.return %2 : tensor<2x6xf32>
  func.return %2 : tensor<2x6xf32>
}
