// RUN: xtvm-opt %s -p relay-fuse-ops | filecheck %s --check-prefix=FUSE
// RUN: xtvm-opt %s -p relay-fuse-ops,convert-relay-to-te | filecheck %s --check-prefix=TE
// RUN: xtvm-opt %s -p relay-fuse-ops,convert-relay-to-te,convert-te-to-tir | filecheck %s --check-prefix=TIR

// relay.loop through fusion and lowering: the body's ops are fused inside the body; the loop
// becomes scf.while in @main (te.calls in its after region, the iteration and condition as
// tensor.from_elements, rows inserted with tensor.insert_slice); in the tir entry an
// scf.while over (iteration, condition) whose body stores them into 0-d buffers, calls the
// kernels, copies each row in with a __stack kernel and copies the next state back.

// FUSE:      %r = relay.loop trip(%m : tensor<i64>) cond(%c : tensor<i1>) (%a) : (tensor<4xf32>) -> () {
// FUSE:        %w = relay.fused "fused_exp_tanh" (%v)
// FUSE:        relay.yield %k, %w : tensor<i1>, tensor<4xf32>
// FUSE:      relay.loop trips 3 (%r) : (tensor<4xf32>) -> (tensor<3x4xf32>) {
// FUSE:        relay.fused "fused_take_add" (%x, %i_1, %v_1)

// TE:      %[[TRIP:.*]] = tensor.extract %m[] : tensor<i64>
// TE-NEXT: %[[C0:.*]] = tensor.extract %c[] : tensor<i1>
// TE:      scf.while (%[[I:.*]] = %{{.*}}, %[[C:.*]] = %[[C0]], %{{.*}} = %a) : (i64, i1, tensor<4xf32>)
// TE-NEXT:   %[[LT:.*]] = arith.cmpi slt, %[[I]], %[[TRIP]] : i64
// TE-NEXT:   %[[GO:.*]] = arith.andi %[[LT]], %[[C]] : i1
// TE-NEXT:   scf.condition(%[[GO]])
// TE:        %iter = tensor.from_elements
// TE-NEXT:   %cond = tensor.from_elements
// TE-NEXT:   %w = te.call @fused_exp_tanh(%v)
// TE:      %[[N:.*]] = arith.constant 3 : i64
// TE:      tensor.empty() : tensor<3x4xf32>
// TE:        arith.cmpi slt, %{{.*}}, %[[N]] : i64
// TE-NEXT:   scf.condition
// TE:        %w_1 = te.call @fused_take_add(%x, %iter_1, %v_1)
// TE:        tensor.insert_slice %w_1 into %{{.*}}[%{{.*}}, 0] [1, 4] [1, 1] : tensor<4xf32> into tensor<3x4xf32>

// TIR-LABEL: tir.prim_func @main(
// TIR:       tir.call @__copy0(%input2, %r)
// TIR-NEXT:  scf.while
// TIR:         memref.store %{{.*}}, %iter[] : memref<i64>
// TIR-NEXT:    memref.store %{{.*}}, %cond[] : memref<i1>
// TIR-NEXT:    tir.call @fused_exp_tanh(%r, %w)
// TIR:         tir.call @__copy0(%w, %r)
// TIR-NEXT:    scf.yield
// TIR:       tir.call @__copy0(%r, %output0)
// TIR-NEXT:  scf.while
// TIR:         tir.call @fused_take_add(%input3, %iter_1, %output0, %w_1)
// TIR:         tir.call @__stack0(%w_1, %iter_1, %output1)
// TIR:         tir.call @__copy0(%w_1, %output0)
// TIR-NEXT:    scf.yield
func.func @main(%m: tensor<i64>, %c: tensor<i1>, %a: tensor<4xf32>, %x: tensor<3x4xf32>) -> (tensor<4xf32>, tensor<3x4xf32>) {
  %r = relay.loop trip(%m : tensor<i64>) cond(%c : tensor<i1>) (%a) : (tensor<4xf32>) -> () {
  ^bb0(%i: tensor<i64>, %k: tensor<i1>, %v: tensor<4xf32>):
    %e = relay.exp %v : tensor<4xf32>
    %w = relay.tanh %e : tensor<4xf32>
    relay.yield %k, %w : tensor<i1>, tensor<4xf32>
  }
  %s:2 = relay.loop trips 3 (%r) : (tensor<4xf32>) -> (tensor<3x4xf32>) {
  ^bb0(%i: tensor<i64>, %k: tensor<i1>, %v: tensor<4xf32>):
    %row = relay.take %x, %i {axis = 0 : i64} : (tensor<3x4xf32>, tensor<i64>) -> tensor<4xf32>
    %w = relay.add %v, %row : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
    relay.yield %k, %w, %w : tensor<i1>, tensor<4xf32>, tensor<4xf32>
  }
  func.return %s#0, %s#1 : tensor<4xf32>, tensor<3x4xf32>
}
