// RUN: xtvm-opt %s --split-input-file --verify-diagnostics | filecheck %s

// CHECK: relay.bitwise_and: expects integer tensors, got element type f32
func.func @float_and(%a: tensor<4xf32>) -> tensor<4xf32> {
  %0 = relay.bitwise_and %a, %a : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  func.return %0 : tensor<4xf32>
}

// -----

// CHECK: relay.reinterpret: f32 and i64 differ in bit width
func.func @width(%a: tensor<4xf32>) -> tensor<4xi64> {
  %0 = relay.reinterpret %a : (tensor<4xf32>) -> tensor<4xi64>
  func.return %0 : tensor<4xi64>
}

// -----

// CHECK: relay.bitwise_not: expects integer tensors, got element type i1
func.func @bool_not(%a: tensor<4xi1>) -> tensor<4xi1> {
  %0 = relay.bitwise_not %a : tensor<4xi1>
  func.return %0 : tensor<4xi1>
}
