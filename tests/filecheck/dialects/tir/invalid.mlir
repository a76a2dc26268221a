// RUN: xtvm-opt %s --split-input-file --verify-diagnostics | filecheck %s

// CHECK: tir.for: kind must be one of serial, parallel, vectorized, unrolled, thread, got 'threaded'
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

// CHECK: tir.alloc: scope must be one of local, heap, shared
tir.prim_func @bad_scope(%a: memref<4xf32>) {
  %b = tir.alloc "global" : memref<16xf32>
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

// -----

// CHECK: tir.for: unknown thread tag 'warpIdx.x'
tir.prim_func @bad_tag(%a: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  tir.for %i = %c0 to %c4 step %c1 kind(thread "warpIdx.x") {
  }
  tir.return
}

// -----

// CHECK: tir.for: a thread tag goes with kind(thread) and only there
tir.prim_func @tag_without_kind(%a: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  "tir.for"(%c0, %c4, %c1) <{kind = "serial", thread = "threadIdx.x"}> ({
  ^bb0(%i: index):
    "tir.yield"() : () -> ()
  }) : (index, index, index) -> ()
  tir.return
}

// -----

// CHECK: tir.for: threadIdx.z extent 128 is outside [1, 64]
tir.prim_func @too_deep(%a: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c128 = arith.constant 128 : index
  tir.for %i = %c0 to %c128 step %c1 kind(thread "threadIdx.z") {
  }
  tir.return
}

// -----

// CHECK: tir.for: a threadIdx.x loop must run from 0 to a constant by step 1
tir.prim_func @dynamic_extent(%a: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  tir.for %i = %c0 to %c4 step %c1 {
    tir.for %t = %c0 to %i step %c1 kind(thread "threadIdx.x") {
    }
  }
  tir.return
}

// -----

// CHECK: tir.for: threadIdx.x is already bound by an enclosing loop
tir.prim_func @rebound(%a: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  tir.for %t = %c0 to %c4 step %c1 kind(thread "threadIdx.x") {
    tir.for %u = %c0 to %c4 step %c1 kind(thread "threadIdx.x") {
    }
  }
  tir.return
}

// -----

// CHECK: tir.for: blockIdx.x loop inside a threadIdx loop
tir.prim_func @grid_in_block(%a: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  tir.for %t = %c0 to %c4 step %c1 kind(thread "threadIdx.x") {
    tir.for %b = %c0 to %c4 step %c1 kind(thread "blockIdx.x") {
    }
  }
  tir.return
}

// -----

// CHECK: @big_block: 2048 threads per block, at most 1024
tir.prim_func @big_block(%a: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c1024 = arith.constant 1024 : index
  tir.for %y = %c0 to %c2 step %c1 kind(thread "threadIdx.y") {
    tir.for %x = %c0 to %c1024 step %c1 kind(thread "threadIdx.x") {
    }
  }
  tir.return
}

// -----

// CHECK: @big_shared: 65536 bytes of shared memory, at most 49152
tir.prim_func @big_shared(%a: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %s = tir.alloc "shared" : memref<16384xf32>
  tir.for %x = %c0 to %c4 step %c1 kind(thread "threadIdx.x") {
  }
  tir.return
}

// -----

// CHECK: @grid_twice: blockIdx.x bound with extents 4 and 8
tir.prim_func @grid_twice(%a: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  tir.for %s = %c0 to %c4 step %c1 {
    tir.for %b = %c0 to %c4 step %c1 kind(thread "blockIdx.x") {
    }
    tir.for %b2 = %c0 to %c8 step %c1 kind(thread "blockIdx.x") {
    }
  }
  tir.return
}

// -----

// CHECK: @shared_per_thread: a shared buffer allocated inside a threadIdx loop
tir.prim_func @shared_per_thread(%a: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  tir.for %x = %c0 to %c4 step %c1 kind(thread "threadIdx.x") {
    %s = tir.alloc "shared" : memref<4xf32>
  }
  tir.return
}

// -----

// CHECK: tir.barrier: inside scf.if (divergent control flow)
tir.prim_func @barrier_in_branch(%a: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  tir.for %x = %c0 to %c4 step %c1 kind(thread "threadIdx.x") {
    %p = arith.cmpi slt, %x, %c1 : index
    scf.if %p {
      tir.barrier
    }
  }
  tir.return
}

// -----

// CHECK: tir.barrier: inside a loop whose bounds vary per thread
tir.prim_func @barrier_in_ragged_loop(%a: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  tir.for %x = %c0 to %c4 step %c1 kind(thread "threadIdx.x") {
    tir.for %k = %c0 to %x step %c1 {
      tir.barrier
    }
  }
  tir.return
}

// -----

// CHECK: @barrier_in_short_loop: tir.barrier inside a threadIdx.x loop of extent 4 below the block's 32 (only some threads reach it)
tir.prim_func @barrier_in_short_loop(%a: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c32 = arith.constant 32 : index
  tir.for %x = %c0 to %c32 step %c1 kind(thread "threadIdx.x") {
  }
  tir.for %y = %c0 to %c4 step %c1 kind(thread "threadIdx.x") {
    tir.barrier
  }
  tir.return
}

// -----

// CHECK: @cpu_barrier: tir.barrier outside a GPU kernel
tir.prim_func @cpu_barrier(%a: memref<4xf32>) {
  tir.barrier
  tir.return
}
