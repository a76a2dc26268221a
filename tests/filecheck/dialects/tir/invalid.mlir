// RUN: xtvm-opt %s --split-input-file --verify-diagnostics | filecheck %s

// CHECK: tir.for: kind must be one of serial, parallel, vectorized, unrolled, got 'threaded'
tir.prim_func @bad_kind(%a: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  "tir.for"(%c0, %c4, %c1) <{kind = "threaded"}> ({
  ^bb0(%i: index):
    "tir.yield"() : () -> ()
  }) : (index, index, index) -> ()
  tir.return
}

// -----

// CHECK: tir.prim_func: arguments must be memrefs, got f32
"tir.prim_func"() <{sym_name = "scalar_arg", function_type = (f32) -> ()}> ({
^bb0(%x: f32):
  "tir.return"() : () -> ()
}) : () -> ()

// -----

// CHECK: tir.prim_func: kernels return nothing; write outputs to buffers
"tir.prim_func"() <{sym_name = "returns", function_type = (memref<4xf32>) -> f32}> ({
^bb0(%x: memref<4xf32>):
  "tir.return"() : () -> ()
}) : () -> ()

// -----

// CHECK: tir.alloc: scope must be one of local, heap
tir.prim_func @bad_scope(%a: memref<4xf32>) {
  %b = tir.alloc "shared" : memref<16xf32>
  tir.return
}

// -----

// CHECK: tir.workspace_buffer: offset must be a non-negative multiple of 64
tir.prim_func @main(%a: memref<4xf32>) attributes {xtvm.entry} {
  %t = tir.workspace_buffer offset 8 : memref<4xf32>
  tir.return
}

// -----

// CHECK: tir.workspace_buffer: only valid in the entry function
tir.prim_func @kernel(%a: memref<4xf32>) {
  %t = tir.workspace_buffer offset 0 : memref<4xf32>
  tir.return
}

// -----

// CHECK: tir.global: value and buffer types differ
tir.global @w = dense<1.0> : tensor<4xf32> : memref<8xf32>

// -----

// CHECK: tir.for: body must have exactly one index argument
tir.prim_func @two_ivs(%a: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  "tir.for"(%c0, %c1, %c1) <{kind = "serial"}> ({
  ^bb0(%i: index, %j: index):
    "tir.yield"() : () -> ()
  }) : (index, index, index) -> ()
  tir.return
}

// -----

// CHECK: tir.view: the base must be a one-dimensional i8 buffer
tir.prim_func @view_base(%a: memref<4x16xf32>) {
  %v = tir.view %a offset 0 : memref<4x16xf32> -> memref<4xf32>
  tir.return
}

// -----

// CHECK: tir.view: offset must be a non-negative multiple of 64
tir.prim_func @view_offset(%a: memref<256xi8>) {
  %v = tir.view %a offset 32 : memref<256xi8> -> memref<4xf32>
  tir.return
}

// -----

// CHECK: tir.view: the view does not fit in its base buffer
tir.prim_func @view_size(%a: memref<256xi8>) {
  %v = tir.view %a offset 192 : memref<256xi8> -> memref<32xf32>
  tir.return
}
