// RUN: xtvm-opt %s | xtvm-opt | filecheck %s
// RUN: xtvm-opt %s --print-op-generic | xtvm-opt | filecheck %s

// Tuples and projections; the result types are inferred from the fields.
// CHECK-LABEL: func.func @tuples
// CHECK-NEXT:    %t = relay.tuple(%a, %b) : tuple<tensor<4xf32>, tensor<2xf32>>
// CHECK-NEXT:    %u = relay.tuple() : tuple<>
// CHECK-NEXT:    %n = relay.tuple(%t, %u) : tuple<tuple<tensor<4xf32>, tensor<2xf32>>, tuple<>>
// CHECK-NEXT:    %i = relay.tuple_get %n[0] : tuple<tuple<tensor<4xf32>, tensor<2xf32>>, tuple<>>
// CHECK-NEXT:    %b2 = relay.tuple_get %i[1] : tuple<tensor<4xf32>, tensor<2xf32>>
// CHECK-NEXT:    func.return %b2, %t : tensor<2xf32>, tuple<tensor<4xf32>, tensor<2xf32>>
func.func @tuples(%a: tensor<4xf32>, %b: tensor<2xf32>) -> (tensor<2xf32>, tuple<tensor<4xf32>, tensor<2xf32>>) {
  %t = relay.tuple(%a, %b) : tuple<tensor<4xf32>, tensor<2xf32>>
  %u = relay.tuple() : tuple<>
  %n = relay.tuple(%t, %u) : tuple<tuple<tensor<4xf32>, tensor<2xf32>>, tuple<>>
  %i = relay.tuple_get %n[0] : tuple<tuple<tensor<4xf32>, tensor<2xf32>>, tuple<>>
  %b2 = relay.tuple_get %i[1] : tuple<tensor<4xf32>, tensor<2xf32>>
  func.return %b2, %t : tensor<2xf32>, tuple<tensor<4xf32>, tensor<2xf32>>
}

// Nested lets: %x is in scope in both bodies, %y only in the inner one.
// CHECK-LABEL: func.func @lets
// CHECK-NEXT:    %v = relay.exp %a : tensor<4xf32>
// CHECK-NEXT:    %r = relay.let (%x = %v : tensor<4xf32>) -> (tensor<4xf32>) {
// CHECK-NEXT:      %w = relay.tanh %x : tensor<4xf32>
// CHECK-NEXT:      %s = relay.let (%y = %w : tensor<4xf32>) -> (tensor<4xf32>) {
// CHECK-NEXT:        %z = relay.add %x, %y : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
// CHECK-NEXT:        relay.yield %z : tensor<4xf32>
// CHECK-NEXT:      }
// CHECK-NEXT:      relay.yield %s : tensor<4xf32>
// CHECK-NEXT:    } attributes {xtvm.tag = "t"}
// CHECK-NEXT:    %p, %p_1 = relay.let (%q = %a : tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
// CHECK-NEXT:      relay.yield %q, %r : tensor<4xf32>, tensor<4xf32>
// CHECK-NEXT:    }
func.func @lets(%a: tensor<4xf32>) -> tensor<4xf32> {
  %v = relay.exp %a : tensor<4xf32>
  %r = relay.let (%x = %v : tensor<4xf32>) -> (tensor<4xf32>) {
    %w = relay.tanh %x : tensor<4xf32>
    %s = relay.let (%y = %w : tensor<4xf32>) -> (tensor<4xf32>) {
      %z = relay.add %x, %y : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
      relay.yield %z : tensor<4xf32>
    }
    relay.yield %s : tensor<4xf32>
  } attributes {xtvm.tag = "t"}
  %p:2 = relay.let (%q = %a : tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
    relay.yield %q, %r : tensor<4xf32>, tensor<4xf32>
  }
  func.return %p#1 : tensor<4xf32>
}

// Functions as values: a closure over %a, bound by a let, called twice; a function that
// returns a function; a call of a module-level function with func.call.
// CHECK-LABEL: func.func @functions
// CHECK-NEXT:    %f = relay.fn (%p: tensor<4xf32>, %k: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
// CHECK-NEXT:      %m = relay.multiply %p, %a : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
// CHECK-NEXT:      relay.yield %m, %k : tensor<4xf32>, tensor<4xf32>
// CHECK-NEXT:    }
// CHECK-NEXT:    %r = relay.let (%g = %f : (tensor<4xf32>, tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>)) -> (tensor<4xf32>) {
// CHECK-NEXT:      %c, %c_1 = relay.call %g(%a, %a) : (tensor<4xf32>, tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>)
// CHECK-NEXT:      %d, %d_1 = relay.call %g(%c, %c_1) : (tensor<4xf32>, tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>)
// CHECK-NEXT:      relay.yield %d : tensor<4xf32>
// CHECK-NEXT:    }
// CHECK-NEXT:    %h = relay.fn () -> ((tensor<4xf32>) -> tensor<4xf32>) {
// CHECK-NEXT:      %i = relay.fn (%e: tensor<4xf32>) -> (tensor<4xf32>) {
// CHECK-NEXT:        relay.yield %e : tensor<4xf32>
// CHECK-NEXT:      }
// CHECK-NEXT:      relay.yield %i : (tensor<4xf32>) -> tensor<4xf32>
// CHECK-NEXT:    }
// CHECK-NEXT:    %j = relay.call %h() : () -> ((tensor<4xf32>) -> tensor<4xf32>)
// CHECK-NEXT:    %l = relay.call %j(%r) : (tensor<4xf32>) -> tensor<4xf32>
// CHECK-NEXT:    %o = func.call @double(%l) : (tensor<4xf32>) -> tensor<4xf32>
func.func @functions(%a: tensor<4xf32>) -> tensor<4xf32> {
  %f = relay.fn (%p: tensor<4xf32>, %k: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
    %m = relay.multiply %p, %a : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
    relay.yield %m, %k : tensor<4xf32>, tensor<4xf32>
  }
  %r = relay.let (%g = %f : (tensor<4xf32>, tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>)) -> (tensor<4xf32>) {
    %c:2 = relay.call %g(%a, %a) : (tensor<4xf32>, tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>)
    %d:2 = relay.call %g(%c#0, %c#1) : (tensor<4xf32>, tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>)
    relay.yield %d#0 : tensor<4xf32>
  }
  %h = relay.fn () -> ((tensor<4xf32>) -> tensor<4xf32>) {
    %i = relay.fn (%e: tensor<4xf32>) -> (tensor<4xf32>) {
      relay.yield %e : tensor<4xf32>
    }
    relay.yield %i : (tensor<4xf32>) -> tensor<4xf32>
  }
  %j = relay.call %h() : () -> ((tensor<4xf32>) -> tensor<4xf32>)
  %l = relay.call %j(%r) : (tensor<4xf32>) -> tensor<4xf32>
  %o = func.call @double(%l) : (tensor<4xf32>) -> tensor<4xf32>
  func.return %o : tensor<4xf32>
}

func.func private @double(%x: tensor<4xf32>) -> tensor<4xf32> {
  %y = relay.add %x, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  func.return %y : tensor<4xf32>
}

// The results of a let or a function may be left out: they are what the body yields.
// CHECK-LABEL: func.func @inferred
// CHECK-NEXT:    %r, %r_1 = relay.let (%x = %a : tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
// CHECK-NEXT:      relay.yield %x, %x : tensor<4xf32>, tensor<4xf32>
// CHECK-NEXT:    }
// CHECK-NEXT:    %f = relay.fn (%p: tensor<4xf32>) -> (tensor<4xf32>) {
// CHECK-NEXT:      relay.yield %p : tensor<4xf32>
// CHECK-NEXT:    }
func.func @inferred(%a: tensor<4xf32>) -> tensor<4xf32> {
  %r:2 = relay.let (%x = %a : tensor<4xf32>) {
    relay.yield %x, %x : tensor<4xf32>, tensor<4xf32>
  }
  %f = relay.fn (%p: tensor<4xf32>) {
    relay.yield %p : tensor<4xf32>
  }
  func.return %r#1 : tensor<4xf32>
}
