// RUN: xtvm-opt %s -p relay-dce | filecheck %s

// A dead chain (ops, their constants, a dead fused group) goes in one pass; live ops stay.
// CHECK-LABEL: func.func @dead
// CHECK-NEXT:    %k = relay.constant dense<1.000000e+00> : tensor<2xf32>
// CHECK-NEXT:    %live = relay.add %x, %k
// CHECK-NEXT:    func.return %live
func.func @dead(%x: tensor<2xf32>) -> tensor<2xf32> {
  %k = relay.constant dense<1.0> : tensor<2xf32>
  %unused = relay.constant dense<3.0> : tensor<2xf32>
  %live = relay.add %x, %k : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %d1 = relay.multiply %x, %unused : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %d2 = relay.relu %d1 : tensor<2xf32>
  %g = relay.fused "fused_exp" (%d2) : (tensor<2xf32>) -> (tensor<2xf32>) {
  ^bb0(%a: tensor<2xf32>):
    %e = relay.exp %a : tensor<2xf32>
    relay.yield %e : tensor<2xf32>
  }
  func.return %live : tensor<2xf32>
}

// Dead ops inside a live fused group are left alone.
// CHECK-LABEL: func.func @fused
// CHECK:         %dead = relay.tanh %a
// CHECK:         relay.yield %e
func.func @fused(%x: tensor<2xf32>) -> tensor<2xf32> {
  %g = relay.fused "fused_exp" (%x) : (tensor<2xf32>) -> (tensor<2xf32>) {
  ^bb0(%a: tensor<2xf32>):
    %dead = relay.tanh %a : tensor<2xf32>
    %e = relay.exp %a : tensor<2xf32>
    relay.yield %e : tensor<2xf32>
  }
  func.return %g : tensor<2xf32>
}
