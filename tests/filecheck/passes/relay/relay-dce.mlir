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

// An unused relay.if goes, and with it what only its branches read; live regions are
// cleaned inside.
// CHECK-LABEL: func.func @dead_if
// CHECK-NEXT:    %r = relay.if %c : tensor<i1> -> (tensor<2xf32>) {
// CHECK-NEXT:      relay.yield %x : tensor<2xf32>
// CHECK-NEXT:    } else {
// CHECK-NEXT:      %n = relay.negative %x : tensor<2xf32>
// CHECK-NEXT:      relay.yield %n : tensor<2xf32>
// CHECK-NEXT:    }
// CHECK-NEXT:    func.return %r
func.func @dead_if(%x: tensor<2xf32>, %c: tensor<i1>) -> tensor<2xf32> {
  %e = relay.exp %x : tensor<2xf32>
  %u = relay.if %c : tensor<i1> -> (tensor<2xf32>) {
    %t = relay.tanh %e : tensor<2xf32>
    relay.yield %t : tensor<2xf32>
  } else {
    relay.yield %e : tensor<2xf32>
  }
  %r = relay.if %c : tensor<i1> -> (tensor<2xf32>) {
    %s = relay.sigmoid %x : tensor<2xf32>
    relay.yield %x : tensor<2xf32>
  } else {
    %n = relay.negative %x : tensor<2xf32>
    relay.yield %n : tensor<2xf32>
  }
  func.return %r : tensor<2xf32>
}
