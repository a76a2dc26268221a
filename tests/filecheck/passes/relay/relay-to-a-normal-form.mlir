// RUN: xtvm-opt %s -p relay-to-a-normal-form | filecheck %s
// RUN: xtvm-opt %s -p relay-to-a-normal-form,relay-to-a-normal-form | filecheck %s
// RUN: xtvm-opt %s -p relay-to-a-normal-form,relay-to-graph-normal-form | filecheck %s --check-prefix=GNF

// Every non-trivial value is bound once, right after the op computing it; the rest of the
// block moves into the let's body, and later uses (also inside relay.if branches) read the
// variable. Constants are atoms. The branches are put in let form too. Applying the pass
// twice changes nothing (second RUN line).
// CHECK-LABEL: func.func @graph
// CHECK-NEXT:    %k = relay.constant
// CHECK-NEXT:    %a = relay.exp %x : tensor<4xf32>
// CHECK-NEXT:    [[R0:%.*]], [[R1:%.*]] = relay.let (%a_1 = %a : tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
// CHECK-NEXT:      %b = relay.add %a_1, %k
// CHECK-NEXT:      [[S0:%.*]], [[S1:%.*]] = relay.let (%b_1 = %b : tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
// CHECK-NEXT:        %r = relay.if %c : tensor<i1> -> (tensor<4xf32>) {
// CHECK-NEXT:          %e = relay.tanh %b_1 : tensor<4xf32>
// CHECK-NEXT:          [[E:%.*]] = relay.let (%e_1 = %e : tensor<4xf32>) -> (tensor<4xf32>) {
// CHECK-NEXT:            %f = relay.multiply %e_1, %a_1
// CHECK-NEXT:            [[F:%.*]] = relay.let (%f_1 = %f : tensor<4xf32>) -> (tensor<4xf32>) {
// CHECK-NEXT:              relay.yield %f_1 : tensor<4xf32>
// CHECK-NEXT:            }
// CHECK-NEXT:            relay.yield [[F]] : tensor<4xf32>
// CHECK-NEXT:          }
// CHECK-NEXT:          relay.yield [[E]] : tensor<4xf32>
// CHECK-NEXT:        } else {
// CHECK-NEXT:          relay.yield %a_1 : tensor<4xf32>
// CHECK-NEXT:        }
// CHECK-NEXT:        [[T0:%.*]], [[T1:%.*]] = relay.let (%r_1 = %r : tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
// CHECK-NEXT:          %m = relay.multiply %r_1, %b_1
// CHECK-NEXT:          [[U0:%.*]], [[U1:%.*]] = relay.let (%m_1 = %m : tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
// CHECK-NEXT:            relay.yield %m_1, %a_1 : tensor<4xf32>, tensor<4xf32>
// CHECK-NEXT:          }
// CHECK-NEXT:          relay.yield [[U0]], [[U1]]
// CHECK-NEXT:        }
// CHECK-NEXT:        relay.yield [[T0]], [[T1]]
// CHECK-NEXT:      }
// CHECK-NEXT:      relay.yield [[S0]], [[S1]]
// CHECK-NEXT:    }
// CHECK-NEXT:    func.return [[R0]], [[R1]] : tensor<4xf32>, tensor<4xf32>
// GNF-LABEL:   func.func @graph
// GNF-NEXT:      %k = relay.constant
// GNF-NEXT:      %a = relay.exp %x
// GNF-NEXT:      %b = relay.add %a, %k
// GNF-NEXT:      %r = relay.if %c : tensor<i1> -> (tensor<4xf32>) {
// GNF-NEXT:        %e = relay.tanh %b
// GNF-NEXT:        %f = relay.multiply %e, %a
// GNF-NEXT:        relay.yield %f
// GNF-NEXT:      } else {
// GNF-NEXT:        relay.yield %a
// GNF-NEXT:      }
// GNF-NEXT:      %m = relay.multiply %r, %b
// GNF-NEXT:      func.return %m, %a
func.func @graph(%x: tensor<4xf32>, %c: tensor<i1>) -> (tensor<4xf32>, tensor<4xf32>) {
  %k = relay.constant dense<1.0> : tensor<4xf32>
  %a = relay.exp %x : tensor<4xf32>
  %b = relay.add %a, %k : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %r = relay.if %c : tensor<i1> -> (tensor<4xf32>) {
    %e = relay.tanh %b : tensor<4xf32>
    %f = relay.multiply %e, %a : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
    relay.yield %f : tensor<4xf32>
  } else {
    relay.yield %a : tensor<4xf32>
  }
  %m = relay.multiply %r, %b : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  func.return %m, %a : tensor<4xf32>, tensor<4xf32>
}

// A function value is bound like any value, and its body is put in let form; each used
// result of a multi-result op gets its own let; an unused result is not bound.
// CHECK-LABEL: func.func @functions
// CHECK-NEXT:    %f = relay.fn (%p: tensor<4xf32>) -> (tensor<4xf32>) {
// CHECK-NEXT:      %s = relay.sigmoid %p : tensor<4xf32>
// CHECK-NEXT:      [[S:%.*]] = relay.let (%s_1 = %s : tensor<4xf32>) -> (tensor<4xf32>) {
// CHECK-NEXT:        relay.yield %s_1
// CHECK-NEXT:      }
// CHECK-NEXT:      relay.yield [[S]]
// CHECK-NEXT:    }
// CHECK-NEXT:    [[G0:%.*]], [[G1:%.*]] = relay.let (%f_1 = %f : (tensor<4xf32>) -> tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
// CHECK-NEXT:      %c = relay.call %f_1(%x)
// CHECK-NEXT:      [[C0:%.*]], [[C1:%.*]] = relay.let (%c_1 = %c : tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
// CHECK-NEXT:        %v, %w, %u = relay.if %d : tensor<i1> -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) {
// CHECK-NEXT:          relay.yield %c_1, %x, %x
// CHECK-NEXT:        } else {
// CHECK-NEXT:          relay.yield %x, %c_1, %x
// CHECK-NEXT:        }
// CHECK-NEXT:        [[V0:%.*]], [[V1:%.*]] = relay.let (%v_1 = %v : tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
// CHECK-NEXT:          [[W0:%.*]], [[W1:%.*]] = relay.let (%w_1 = %w : tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
// CHECK-NEXT:            relay.yield %v_1, %w_1
// CHECK-NEXT:          }
// CHECK-NEXT:          relay.yield [[W0]], [[W1]]
// CHECK-NEXT:        }
// CHECK-NEXT:        relay.yield [[V0]], [[V1]]
// CHECK-NEXT:      }
// CHECK-NEXT:      relay.yield [[C0]], [[C1]]
// CHECK-NEXT:    }
// CHECK-NEXT:    func.return [[G0]], [[G1]]
func.func @functions(%x: tensor<4xf32>, %d: tensor<i1>) -> (tensor<4xf32>, tensor<4xf32>) {
  %f = relay.fn (%p: tensor<4xf32>) -> (tensor<4xf32>) {
    %s = relay.sigmoid %p : tensor<4xf32>
    relay.yield %s : tensor<4xf32>
  }
  %c = relay.call %f(%x) : (tensor<4xf32>) -> tensor<4xf32>
  %v, %w, %u = relay.if %d : tensor<i1> -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) {
    relay.yield %c, %x, %x : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
  } else {
    relay.yield %x, %c, %x : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
  }
  func.return %v, %w : tensor<4xf32>, tensor<4xf32>
}
