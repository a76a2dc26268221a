// RUN: xtvm-opt %s -p relay-fuse-ops | filecheck %s --check-prefix=FUSE
// RUN: xtvm-opt %s -p relay-fuse-ops,convert-relay-to-te | filecheck %s --check-prefix=TE
// RUN: xtvm-opt %s -p relay-fuse-ops,convert-relay-to-te,convert-te-to-tir | filecheck %s --check-prefix=TIR

// relay.if through fusion and lowering: each region's ops are fused inside the region; the
// conditional becomes scf.if in @main (te.calls inside, the condition read with
// tensor.extract); in the tir entry the branches write the result's buffer (the output
// here): the then branch's last kernel directly, the else branch through a copy.

// FUSE:      %a = relay.fused "fused_exp" (%x)
// FUSE:      %r = relay.if %c : tensor<i1> -> (tensor<4xf32>) {
// FUSE-NEXT:   %n = relay.fused "fused_tanh_negative" (%a)
// FUSE:        relay.yield %n : tensor<4xf32>
// FUSE-NEXT: } else {
// FUSE-NEXT:   relay.yield %x : tensor<4xf32>
// FUSE-NEXT: }

// TE:      %a = te.call @fused_exp(%x)
// TE-NEXT: %c_1 = tensor.extract %c[] : tensor<i1>
// TE-NEXT: %r = scf.if %c_1 -> (tensor<4xf32>) {
// TE-NEXT:   %n = te.call @fused_tanh_negative(%a)
// TE-NEXT:   scf.yield %n : tensor<4xf32>
// TE-NEXT: } else {
// TE-NEXT:   scf.yield %x : tensor<4xf32>
// TE-NEXT: }
// TE-NEXT: func.return %r : tensor<4xf32>

// TIR:      tir.prim_func @main(%x: memref<4xf32>, %c: memref<i1>, %y: memref<4xf32>)
// TIR:        tir.call @fused_exp(%x, %a)
// TIR-NEXT:   %c_1 = memref.load %c[] : memref<i1>
// TIR-NEXT:   scf.if %c_1 {
// TIR-NEXT:     tir.call @fused_tanh_negative(%a, %y)
// TIR-NEXT:   } else {
// TIR-NEXT:     tir.call @__copy0(%x, %y)
// TIR-NEXT:   }
// TIR-NEXT:   tir.return
func.func @main(%x: tensor<4xf32> {xtvm.name = "x"}, %c: tensor<i1> {xtvm.name = "c"}) -> (tensor<4xf32> {xtvm.name = "y"}) {
  %a = relay.exp %x : tensor<4xf32>
  %r = relay.if %c : tensor<i1> -> (tensor<4xf32>) {
    %t = relay.tanh %a : tensor<4xf32>
    %n = relay.negative %t : tensor<4xf32>
    relay.yield %n : tensor<4xf32>
  } else {
    relay.yield %x : tensor<4xf32>
  }
  func.return %r : tensor<4xf32>
}
