// RUN: xtvm-opt %s | xtvm-opt | filecheck %s
// RUN: xtvm-opt %s --print-op-generic | xtvm-opt | filecheck %s

// CHECK: tir.global @w0 = dense<1.000000e+00> : tensor<4xf32> : memref<4xf32>
tir.global @w0 = dense<1.0> : tensor<4xf32> : memref<4xf32>

// CHECK-LABEL: tir.prim_func @k(%a: memref<4x16xf32>, %out: memref<4x16xf32>)
tir.prim_func @k(%a: memref<4x16xf32>, %out: memref<4x16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c16 = arith.constant 16 : index
  // CHECK: tir.alloc "local" : memref<16xf32>
  %t = tir.alloc "local" : memref<16xf32>
  // CHECK: tir.for %i = %c0 to %c4 step %c1 kind(parallel) {
  tir.for %i = %c0 to %c4 step %c1 kind(parallel) {
    // CHECK: tir.for %j = %c0 to %c16 step %c1 kind(vectorized) {
    tir.for %j = %c0 to %c16 step %c1 kind(vectorized) {
      %v = memref.load %a[%i, %j] : memref<4x16xf32>
      %e = math.exp %v : f32
      memref.store %e, %out[%i, %j] : memref<4x16xf32>
    }
  }
  // CHECK: tir.for %u = %c0 to %c4 step %c1 kind(unrolled) {
  tir.for %u = %c0 to %c4 step %c1 kind(unrolled) {
  }
  // CHECK: tir.for %s = %c0 to %c4 step %c1 {
  tir.for %s = %c0 to %c4 step %c1 {
  }
  %h = tir.alloc "heap" : memref<1024xf32>
  // CHECK: %slot = tir.alloc "local" : memref<256xi8>
  %slot = tir.alloc "local" : memref<256xi8>
  // CHECK: %view = tir.view %slot offset 64 : memref<256xi8> -> memref<4x8xf32>
  %view = tir.view %slot offset 64 : memref<256xi8> -> memref<4x8xf32>
  // CHECK: tir.free %h : memref<1024xf32>
  tir.free %h : memref<1024xf32>
  tir.return
}

// CHECK-LABEL: tir.prim_func @main(%x: memref<4x16xf32>, %y: memref<4x16xf32>) attributes {xtvm.entry, xtvm.workspace_bytes = 256 : i64}
tir.prim_func @main(%x: memref<4x16xf32>, %y: memref<4x16xf32>) attributes {xtvm.entry, xtvm.workspace_bytes = 256 : i64} {
  // CHECK-NEXT: %t = tir.workspace_buffer offset 0 : memref<4x16xf32>
  %t = tir.workspace_buffer offset 0 : memref<4x16xf32>
  // CHECK-NEXT: %w = tir.global_ref @w0 : memref<4xf32>
  %w = tir.global_ref @w0 : memref<4xf32>
  // CHECK-NEXT: tir.call @k(%x, %t) : memref<4x16xf32>, memref<4x16xf32>
  tir.call @k(%x, %t) : memref<4x16xf32>, memref<4x16xf32>
  tir.call @k(%t, %y) : memref<4x16xf32>, memref<4x16xf32>
  tir.return
}

// A GPU kernel: grid and block axes, a shared tile loaded cooperatively, barriers around it.
// CHECK-LABEL: tir.prim_func @gpu(%a: memref<64xf32>, %out: memref<64xf32>)
tir.prim_func @gpu(%a: memref<64xf32>, %out: memref<64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c32 = arith.constant 32 : index
  // CHECK: %s = tir.alloc "shared" : memref<32xf32>
  %s = tir.alloc "shared" : memref<32xf32>
  // CHECK: tir.for %b = %c0 to %c2 step %c1 kind(thread "blockIdx.x") {
  tir.for %b = %c0 to %c2 step %c1 kind(thread "blockIdx.x") {
    // CHECK: tir.for %t = %c0 to %c32 step %c1 kind(thread "threadIdx.x") {
    tir.for %t = %c0 to %c32 step %c1 kind(thread "threadIdx.x") {
      %i = arith.muli %b, %c32 : index
      %j = arith.addi %i, %t : index
      %v = memref.load %a[%j] : memref<64xf32>
      memref.store %v, %s[%t] : memref<32xf32>
    }
    // CHECK: tir.barrier
    tir.barrier
    tir.for %t2 = %c0 to %c32 step %c1 kind(thread "threadIdx.x") {
      %r = arith.subi %c32, %t2 : index
      %r1 = arith.subi %r, %c1 : index
      %v = memref.load %s[%r1] : memref<32xf32>
      %i = arith.muli %b, %c32 : index
      %j = arith.addi %i, %t2 : index
      memref.store %v, %out[%j] : memref<64xf32>
      // CHECK: tir.barrier
      tir.barrier
    }
  }
  tir.return
}
