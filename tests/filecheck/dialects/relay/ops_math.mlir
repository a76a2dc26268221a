// RUN: xtvm-opt %s | xtvm-opt | filecheck %s
// RUN: xtvm-opt %s --print-op-generic | xtvm-opt | filecheck %s

// CHECK-LABEL: func.func @unary
func.func @unary(%x: tensor<2x3xf32>, %n: tensor<2x3xi64>, %b: tensor<2x3xi1>) -> tensor<2x3xf32> {
  // CHECK: %0 = relay.negative %x : tensor<2x3xf32>
  %0 = relay.negative %x : tensor<2x3xf32>
  // CHECK: %1 = relay.abs %n : tensor<2x3xi64>
  %1 = relay.abs %n : tensor<2x3xi64>
  // CHECK: %2 = relay.sign %n : tensor<2x3xi64>
  %2 = relay.sign %n : tensor<2x3xi64>
  // CHECK: %3 = relay.sqrt %x : tensor<2x3xf32>
  %3 = relay.sqrt %x : tensor<2x3xf32>
  // CHECK: %4 = relay.log %3 : tensor<2x3xf32>
  %4 = relay.log %3 : tensor<2x3xf32>
  // CHECK: %5 = relay.floor %4 : tensor<2x3xf32>
  %5 = relay.floor %4 : tensor<2x3xf32>
  // CHECK: %6 = relay.ceil %5 : tensor<2x3xf32>
  %6 = relay.ceil %5 : tensor<2x3xf32>
  // CHECK: %7 = relay.round %6 : tensor<2x3xf32>
  %7 = relay.round %6 : tensor<2x3xf32>
  // CHECK: %8 = relay.erf %7 : tensor<2x3xf32>
  %8 = relay.erf %7 : tensor<2x3xf32>
  // CHECK: %9 = relay.logical_not %b : tensor<2x3xi1>
  %9 = relay.logical_not %b : tensor<2x3xi1>
  // CHECK: %10 = relay.leaky_relu %8 {alpha = 1.000000e-01 : f32} : tensor<2x3xf32>
  %10 = relay.leaky_relu %8 {alpha = 0.1 : f32} : tensor<2x3xf32>
  func.return %10 : tensor<2x3xf32>
}

// CHECK-LABEL: func.func @binary
func.func @binary(%x: tensor<2x3xf32>, %y: tensor<3xf32>, %n: tensor<2x3xi32>, %m: tensor<1x3xi32>, %b: tensor<2x1xi1>) -> tensor<2x3xf32> {
  // CHECK: %0 = relay.power %x, %y : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %0 = relay.power %x, %y : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  // CHECK: %1 = relay.power %n, %y : (tensor<2x3xi32>, tensor<3xf32>) -> tensor<2x3xi32>
  %1 = relay.power %n, %y : (tensor<2x3xi32>, tensor<3xf32>) -> tensor<2x3xi32>
  // CHECK: %2 = relay.mod %n, %m {fmod = 0 : i64} : (tensor<2x3xi32>, tensor<1x3xi32>) -> tensor<2x3xi32>
  %2 = relay.mod %n, %m {fmod = 0 : i64} : (tensor<2x3xi32>, tensor<1x3xi32>) -> tensor<2x3xi32>
  // CHECK: %3 = relay.mod %x, %y {fmod = 1 : i64} : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %3 = relay.mod %x, %y {fmod = 1 : i64} : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  // CHECK: %4 = relay.equal %n, %m : (tensor<2x3xi32>, tensor<1x3xi32>) -> tensor<2x3xi1>
  %4 = relay.equal %n, %m : (tensor<2x3xi32>, tensor<1x3xi32>) -> tensor<2x3xi1>
  // CHECK: %5 = relay.not_equal %x, %y : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xi1>
  %5 = relay.not_equal %x, %y : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xi1>
  // CHECK: %6 = relay.less %x, %y : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xi1>
  %6 = relay.less %x, %y : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xi1>
  // CHECK: %7 = relay.less_equal %x, %y : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xi1>
  %7 = relay.less_equal %x, %y : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xi1>
  // CHECK: %8 = relay.greater %x, %y : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xi1>
  %8 = relay.greater %x, %y : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xi1>
  // CHECK: %9 = relay.greater_equal %x, %y : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xi1>
  %9 = relay.greater_equal %x, %y : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xi1>
  // CHECK: %10 = relay.logical_and %4, %b : (tensor<2x3xi1>, tensor<2x1xi1>) -> tensor<2x3xi1>
  %10 = relay.logical_and %4, %b : (tensor<2x3xi1>, tensor<2x1xi1>) -> tensor<2x3xi1>
  // CHECK: %11 = relay.logical_or %10, %5 : (tensor<2x3xi1>, tensor<2x3xi1>) -> tensor<2x3xi1>
  %11 = relay.logical_or %10, %5 : (tensor<2x3xi1>, tensor<2x3xi1>) -> tensor<2x3xi1>
  // CHECK: %12 = relay.logical_xor %11, %6 : (tensor<2x3xi1>, tensor<2x3xi1>) -> tensor<2x3xi1>
  %12 = relay.logical_xor %11, %6 : (tensor<2x3xi1>, tensor<2x3xi1>) -> tensor<2x3xi1>
  // CHECK: %13 = relay.where %b, %x, %y : (tensor<2x1xi1>, tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %13 = relay.where %b, %x, %y : (tensor<2x1xi1>, tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  // CHECK: %14 = relay.cast %x : (tensor<2x3xf32>) -> tensor<2x3xi64>
  %14 = relay.cast %x : (tensor<2x3xf32>) -> tensor<2x3xi64>
  // CHECK: %15 = relay.cast %12 : (tensor<2x3xi1>) -> tensor<2x3xf32>
  %15 = relay.cast %12 : (tensor<2x3xi1>) -> tensor<2x3xf32>
  func.return %15 : tensor<2x3xf32>
}
