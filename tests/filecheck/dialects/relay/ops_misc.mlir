// RUN: xtvm-opt %s | xtvm-opt | filecheck %s
// RUN: xtvm-opt %s --print-op-generic | xtvm-opt | filecheck %s

// CHECK-LABEL: func.func @trig
func.func @trig(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // CHECK: %0 = relay.sin %x : tensor<2x3xf32>
  %0 = relay.sin %x : tensor<2x3xf32>
  // CHECK: %1 = relay.cos %0 : tensor<2x3xf32>
  %1 = relay.cos %0 : tensor<2x3xf32>
  // CHECK: %2 = relay.tan %1 : tensor<2x3xf32>
  %2 = relay.tan %1 : tensor<2x3xf32>
  // CHECK: %3 = relay.asin %2 : tensor<2x3xf32>
  %3 = relay.asin %2 : tensor<2x3xf32>
  // CHECK: %4 = relay.acos %3 : tensor<2x3xf32>
  %4 = relay.acos %3 : tensor<2x3xf32>
  // CHECK: %5 = relay.atan %4 : tensor<2x3xf32>
  %5 = relay.atan %4 : tensor<2x3xf32>
  // CHECK: %6 = relay.sinh %5 : tensor<2x3xf32>
  %6 = relay.sinh %5 : tensor<2x3xf32>
  // CHECK: %7 = relay.cosh %6 : tensor<2x3xf32>
  %7 = relay.cosh %6 : tensor<2x3xf32>
  // CHECK: %8 = relay.asinh %7 : tensor<2x3xf32>
  %8 = relay.asinh %7 : tensor<2x3xf32>
  // CHECK: %9 = relay.acosh %8 : tensor<2x3xf32>
  %9 = relay.acosh %8 : tensor<2x3xf32>
  // CHECK: %10 = relay.atanh %9 : tensor<2x3xf32>
  %10 = relay.atanh %9 : tensor<2x3xf32>
  // CHECK: func.return %10 : tensor<2x3xf32>
  func.return %10 : tensor<2x3xf32>
}

// CHECK-LABEL: func.func @cumprod
func.func @cumprod(%x: tensor<2x6xi32>) -> tensor<2x6xi32> {
  // CHECK: %0 = relay.cumprod %x {axis = 1 : i64, exclusive = 1 : i64, reverse = 0 : i64} : (tensor<2x6xi32>) -> tensor<2x6xi32>
  %0 = relay.cumprod %x {axis = 1 : i64, exclusive = 1 : i64, reverse = 0 : i64} : (tensor<2x6xi32>) -> tensor<2x6xi32>
  // CHECK: func.return %0 : tensor<2x6xi32>
  func.return %0 : tensor<2x6xi32>
}
