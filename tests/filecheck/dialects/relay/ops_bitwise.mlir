// RUN: xtvm-opt %s | xtvm-opt | filecheck %s
// RUN: xtvm-opt %s --print-op-generic | xtvm-opt | filecheck %s

// CHECK-LABEL: func.func @bitwise
func.func @bitwise(%a: tensor<2x3xui8>, %b: tensor<3xui8>, %f: tensor<4xf32>, %p: tensor<4xi1>) -> tensor<2x3xui8> {
  // CHECK: %0 = relay.bitwise_and %a, %b : (tensor<2x3xui8>, tensor<3xui8>) -> tensor<2x3xui8>
  %0 = relay.bitwise_and %a, %b : (tensor<2x3xui8>, tensor<3xui8>) -> tensor<2x3xui8>
  // CHECK: %1 = relay.bitwise_or %0, %b : (tensor<2x3xui8>, tensor<3xui8>) -> tensor<2x3xui8>
  %1 = relay.bitwise_or %0, %b : (tensor<2x3xui8>, tensor<3xui8>) -> tensor<2x3xui8>
  // CHECK: %2 = relay.bitwise_xor %1, %a : (tensor<2x3xui8>, tensor<2x3xui8>) -> tensor<2x3xui8>
  %2 = relay.bitwise_xor %1, %a : (tensor<2x3xui8>, tensor<2x3xui8>) -> tensor<2x3xui8>
  // CHECK: %3 = relay.bitwise_not %2 : tensor<2x3xui8>
  %3 = relay.bitwise_not %2 : tensor<2x3xui8>
  // CHECK: %4 = relay.left_shift %3, %b : (tensor<2x3xui8>, tensor<3xui8>) -> tensor<2x3xui8>
  %4 = relay.left_shift %3, %b : (tensor<2x3xui8>, tensor<3xui8>) -> tensor<2x3xui8>
  // CHECK: %5 = relay.right_shift %4, %b : (tensor<2x3xui8>, tensor<3xui8>) -> tensor<2x3xui8>
  %5 = relay.right_shift %4, %b : (tensor<2x3xui8>, tensor<3xui8>) -> tensor<2x3xui8>
  // CHECK: %6 = relay.reinterpret %f : (tensor<4xf32>) -> tensor<4xi32>
  %6 = relay.reinterpret %f : (tensor<4xf32>) -> tensor<4xi32>
  // CHECK: %7 = relay.reinterpret %p : (tensor<4xi1>) -> tensor<4xui8>
  %7 = relay.reinterpret %p : (tensor<4xi1>) -> tensor<4xui8>
  func.return %5 : tensor<2x3xui8>
}
