// RUN: xtvm-opt %s -p relay-fold-if | filecheck %s

// A constant condition: the taken region's ops move in front and its yields replace the
// results; nested conditionals on constants go too; a runtime condition stays.
// CHECK-LABEL: func.func @fold
// CHECK-NEXT:    %t = relay.tanh %x : tensor<4xf32>
// CHECK-NEXT:    %r = relay.if %c : tensor<i1> -> (tensor<4xf32>) {
// CHECK-NEXT:      %e = relay.exp %x : tensor<4xf32>
// CHECK-NEXT:      relay.yield %e : tensor<4xf32>
// CHECK-NEXT:    } else {
// CHECK-NEXT:      relay.yield %t : tensor<4xf32>
// CHECK-NEXT:    }
// CHECK-NEXT:    %s = relay.add %r, %t
// CHECK-NEXT:    func.return %s
func.func @fold(%x: tensor<4xf32>, %c: tensor<i1>) -> tensor<4xf32> {
  %f = relay.constant dense<false> : tensor<i1>
  %k = relay.constant dense<true> : tensor<1xi1>
  %a = relay.if %f : tensor<i1> -> (tensor<4xf32>) {
    %n = relay.negative %x : tensor<4xf32>
    relay.yield %n : tensor<4xf32>
  } else {
    %b = relay.if %k : tensor<1xi1> -> (tensor<4xf32>) {
      %t = relay.tanh %x : tensor<4xf32>
      relay.yield %t : tensor<4xf32>
    } else {
      relay.yield %x : tensor<4xf32>
    }
    relay.yield %b : tensor<4xf32>
  }
  %r = relay.if %c : tensor<i1> -> (tensor<4xf32>) {
    %e = relay.exp %x : tensor<4xf32>
    relay.yield %e : tensor<4xf32>
  } else {
    relay.yield %a : tensor<4xf32>
  }
  %s = relay.add %r, %a : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  func.return %s : tensor<4xf32>
}
