// RUN: xtvm-opt %s -p relay-to-graph-normal-form | filecheck %s

// Nested lets dissolve: a variable becomes the value it is bound to (one SSA value with
// several uses), a let's results become what its body yields (also when that is the
// variable itself), and lets inside relay.fn and relay.if regions go too.
// CHECK-LABEL: func.func @lets
// CHECK-NEXT:    %v = relay.exp %a : tensor<4xf32>
// CHECK-NEXT:    %w = relay.tanh %v : tensor<4xf32>
// CHECK-NEXT:    %z = relay.add %v, %w : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
// CHECK-NEXT:    %f = relay.fn (%p: tensor<4xf32>) -> (tensor<4xf32>) {
// CHECK-NEXT:      %m = relay.multiply %p, %z : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
// CHECK-NEXT:      relay.yield %m : tensor<4xf32>
// CHECK-NEXT:    }
// CHECK-NEXT:    %c = relay.call %f(%a) : (tensor<4xf32>) -> tensor<4xf32>
// CHECK-NEXT:    %i = relay.if %b : tensor<i1> -> (tensor<4xf32>) {
// CHECK-NEXT:      %n = relay.negative %c : tensor<4xf32>
// CHECK-NEXT:      relay.yield %n : tensor<4xf32>
// CHECK-NEXT:    } else {
// CHECK-NEXT:      relay.yield %a : tensor<4xf32>
// CHECK-NEXT:    }
// CHECK-NEXT:    func.return %i, %v : tensor<4xf32>, tensor<4xf32>
// CHECK-NOT:     relay.let
func.func @lets(%a: tensor<4xf32>, %b: tensor<i1>) -> (tensor<4xf32>, tensor<4xf32>) {
  %v = relay.exp %a : tensor<4xf32>
  %r:2 = relay.let (%x = %v : tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
    %w = relay.tanh %x : tensor<4xf32>
    %s = relay.let (%y = %w : tensor<4xf32>) -> (tensor<4xf32>) {
      %z = relay.add %x, %y : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
      relay.yield %z : tensor<4xf32>
    }
    relay.yield %s, %x : tensor<4xf32>, tensor<4xf32>
  }
  %f = relay.fn (%p: tensor<4xf32>) -> (tensor<4xf32>) {
    %q = relay.let (%k = %r#0 : tensor<4xf32>) -> (tensor<4xf32>) {
      %m = relay.multiply %p, %k : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
      relay.yield %m : tensor<4xf32>
    }
    relay.yield %q : tensor<4xf32>
  }
  %c = relay.call %f(%a) : (tensor<4xf32>) -> tensor<4xf32>
  %i = relay.if %b : tensor<i1> -> (tensor<4xf32>) {
    %t = relay.let (%u = %c : tensor<4xf32>) -> (tensor<4xf32>) {
      %n = relay.negative %u : tensor<4xf32>
      relay.yield %n : tensor<4xf32>
    }
    relay.yield %t : tensor<4xf32>
  } else {
    relay.yield %a : tensor<4xf32>
  }
  func.return %i, %r#1 : tensor<4xf32>, tensor<4xf32>
}

// A dataflow function is left as it is.
// CHECK-LABEL: func.func @dataflow
// CHECK-NEXT:    %e = relay.exp %a : tensor<4xf32>
// CHECK-NEXT:    func.return %e : tensor<4xf32>
func.func @dataflow(%a: tensor<4xf32>) -> tensor<4xf32> {
  %e = relay.exp %a : tensor<4xf32>
  func.return %e : tensor<4xf32>
}
