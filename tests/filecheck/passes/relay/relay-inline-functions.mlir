// RUN: xtvm-opt %s -p relay-inline-functions | filecheck %s

// Calls of known function values (bound by a let, returned by another function, closures
// over outer values) and of module functions become their bodies; projections of tuples
// become the fields; a tuple result of @main becomes one result per field (names get the
// field index); unused function values and private functions no longer called are gone.
// CHECK-LABEL: func.func @main
// CHECK-SAME:    -> (tensor<4xf32> {xtvm.name = "y"}, tensor<4xf32> {xtvm.name = "z_0"}, tensor<2xf32> {xtvm.name = "z_1"})
// CHECK-NEXT:    %m = relay.multiply %a, %a : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
// CHECK-NEXT:    %m_1 = relay.multiply %m, %a : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
// CHECK-NEXT:    %t = relay.tanh %m_1 : tensor<4xf32>
// CHECK-NEXT:    %y = relay.add %t, %t : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
// CHECK-NEXT:    func.return %y, %y, %b : tensor<4xf32>, tensor<4xf32>, tensor<2xf32>
// CHECK-NEXT:  }
// CHECK-NOT:   func.func private @double
// CHECK-NOT:   relay.fn
func.func @main(%a: tensor<4xf32>, %b: tensor<2xf32>) -> (tensor<4xf32> {xtvm.name = "y"}, tuple<tensor<4xf32>, tensor<2xf32>> {xtvm.name = "z"}) {
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
      %t = relay.tanh %e : tensor<4xf32>
      relay.yield %t : tensor<4xf32>
    }
    relay.yield %i : (tensor<4xf32>) -> tensor<4xf32>
  }
  %j = relay.call %h() : () -> ((tensor<4xf32>) -> tensor<4xf32>)
  %l = relay.call %j(%r) : (tensor<4xf32>) -> tensor<4xf32>
  %o = func.call @double(%l) : (tensor<4xf32>) -> tensor<4xf32>
  %tu = relay.tuple(%o, %b) : tuple<tensor<4xf32>, tensor<2xf32>>
  %x = relay.tuple_get %tu[0] : tuple<tensor<4xf32>, tensor<2xf32>>
  func.return %x, %tu : tensor<4xf32>, tuple<tensor<4xf32>, tensor<2xf32>>
}

func.func private @double(%x: tensor<4xf32>) -> tensor<4xf32> {
  %y = relay.add %x, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  func.return %y : tensor<4xf32>
}

// A higher-order function: the function argument is inlined after the outer call is.
// CHECK-LABEL: func.func @apply_twice
// CHECK-NEXT:    %s = relay.sigmoid %x : tensor<4xf32>
// CHECK-NEXT:    %s_1 = relay.sigmoid %s : tensor<4xf32>
// CHECK-NEXT:    func.return %s_1 : tensor<4xf32>
func.func @apply_twice(%x: tensor<4xf32>) -> tensor<4xf32> {
  %twice = relay.fn (%fun: (tensor<4xf32>) -> tensor<4xf32>, %v: tensor<4xf32>) -> (tensor<4xf32>) {
    %u = relay.call %fun(%v) : (tensor<4xf32>) -> tensor<4xf32>
    %w = relay.call %fun(%u) : (tensor<4xf32>) -> tensor<4xf32>
    relay.yield %w : tensor<4xf32>
  }
  %sig = relay.fn (%q: tensor<4xf32>) -> (tensor<4xf32>) {
    %s = relay.sigmoid %q : tensor<4xf32>
    relay.yield %s : tensor<4xf32>
  }
  %r = relay.call %twice(%sig, %x) : ((tensor<4xf32>) -> tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  func.return %r : tensor<4xf32>
}

// A closure over a parameter of the function that made it (an adder factory).
// CHECK-LABEL: func.func @closure
// CHECK-NEXT:    %s = relay.add %x, %k
// CHECK-NEXT:    %s_1 = relay.add %s, %k
// CHECK-NEXT:    func.return %s_1
func.func @closure(%x: tensor<4xf32>, %k: tensor<4xf32>) -> tensor<4xf32> {
  %adder = relay.fn (%a: tensor<4xf32>) {
    %g = relay.fn (%z: tensor<4xf32>) {
      %s = relay.add %z, %a : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
      relay.yield %s : tensor<4xf32>
    }
    relay.yield %g : (tensor<4xf32>) -> tensor<4xf32>
  }
  %plus = relay.call %adder(%k) : (tensor<4xf32>) -> ((tensor<4xf32>) -> tensor<4xf32>)
  %r = relay.call %plus(%x) : (tensor<4xf32>) -> tensor<4xf32>
  %q = relay.call %plus(%r) : (tensor<4xf32>) -> tensor<4xf32>
  func.return %q : tensor<4xf32>
}

// Tuple parameters of a public function become one parameter per tensor (names get the leaf
// index), and the projections of them fold to those parameters.
// CHECK-LABEL: func.func @tuple_params
// CHECK-SAME:    (%{{.*}}: tensor<4xf32> {xtvm.name = "t_0"}, %{{.*}}: tensor<2xf32> {xtvm.name = "t_1"}, %{{.*}}: tensor<4xf32> {xtvm.name = "t_2"}, %x: tensor<4xf32> {xtvm.name = "x"}) -> (tensor<4xf32>, tensor<2xf32>)
// CHECK-NEXT:    %s = relay.add
// CHECK-NEXT:    %m = relay.multiply %s, %x
// CHECK-NEXT:    func.return %m, %
func.func @tuple_params(%t: tuple<tensor<4xf32>, tuple<tensor<2xf32>, tensor<4xf32>>> {xtvm.name = "t"}, %x: tensor<4xf32> {xtvm.name = "x"}) -> tuple<tensor<4xf32>, tensor<2xf32>> {
  %a = relay.tuple_get %t[0] : tuple<tensor<4xf32>, tuple<tensor<2xf32>, tensor<4xf32>>>
  %n = relay.tuple_get %t[1] : tuple<tensor<4xf32>, tuple<tensor<2xf32>, tensor<4xf32>>>
  %b = relay.tuple_get %n[0] : tuple<tensor<2xf32>, tensor<4xf32>>
  %c = relay.tuple_get %n[1] : tuple<tensor<2xf32>, tensor<4xf32>>
  %s = relay.add %a, %c : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %m = relay.multiply %s, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %r = relay.tuple(%m, %b) : tuple<tensor<4xf32>, tensor<2xf32>>
  func.return %r : tuple<tensor<4xf32>, tensor<2xf32>>
}
