// RUN: xtvm-opt %s | xtvm-opt | filecheck %s
// RUN: xtvm-opt %s --print-op-generic | xtvm-opt | filecheck %s

// relay.if: regions read outer values, nest, and may yield nothing or several values.
// CHECK-LABEL: func.func @branch
// CHECK:       %r, %r_1 = relay.if %c : tensor<i1> -> (tensor<4xf32>, tensor<4xf32>) {
// CHECK-NEXT:    %e = relay.exp %x : tensor<4xf32>
// CHECK-NEXT:    relay.yield %e, %x : tensor<4xf32>, tensor<4xf32>
// CHECK-NEXT:  } else {
// CHECK-NEXT:    %n = relay.if %d : tensor<1xi1> -> (tensor<4xf32>) {
// CHECK-NEXT:      relay.yield %x : tensor<4xf32>
// CHECK-NEXT:    } else {
// CHECK-NEXT:      %t = relay.tanh %x : tensor<4xf32>
// CHECK-NEXT:      relay.yield %t : tensor<4xf32>
// CHECK-NEXT:    }
// CHECK-NEXT:    relay.yield %n, %n : tensor<4xf32>, tensor<4xf32>
// CHECK-NEXT:  } attributes {xtvm.tag = "t"}
// CHECK:       relay.if %c : tensor<i1> -> () {
// CHECK-NEXT:    relay.yield
// CHECK-NEXT:  } else {
// CHECK-NEXT:    relay.yield
// CHECK-NEXT:  }
func.func @branch(%c: tensor<i1>, %d: tensor<1xi1>, %x: tensor<4xf32>) -> tensor<4xf32> {
  %r:2 = relay.if %c : tensor<i1> -> (tensor<4xf32>, tensor<4xf32>) {
    %e = relay.exp %x : tensor<4xf32>
    relay.yield %e, %x : tensor<4xf32>, tensor<4xf32>
  } else {
    %n = relay.if %d : tensor<1xi1> -> (tensor<4xf32>) {
      relay.yield %x : tensor<4xf32>
    } else {
      %t = relay.tanh %x : tensor<4xf32>
      relay.yield %t : tensor<4xf32>
    }
    relay.yield %n, %n : tensor<4xf32>, tensor<4xf32>
  } attributes {xtvm.tag = "t"}
  relay.if %c : tensor<i1> -> () {
    relay.yield
  } else {
    relay.yield
  }
  %s = relay.add %r#0, %r#1 : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  func.return %s : tensor<4xf32>
}
