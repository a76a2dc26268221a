// RUN: xtvm-opt %s -p tir-storage-rewrite | filecheck %s
// RUN: xtvm-opt %s -p 'tir-storage-rewrite{hoist-scratch=false}' | filecheck %s --check-prefix=KEEP

// %p (first two loops) and %q (last two) are never live together: they become views of
// one slot sized for the larger (512 bytes). %r is live with both (second and third loops),
// so it gets its own slot; %unused is erased. The kernel is only called from the entry,
// so both heap slots become trailing arguments and the frees disappear.
// CHECK-LABEL: tir.prim_func @k(%x: memref<64xf32>, %y: memref<64xf32>, %heap_slot: memref<512xi8>, %heap_slot_1: memref<256xi8>) {
// CHECK-NOT:   tir.alloc
// CHECK:       %p = tir.view %heap_slot offset 0 : memref<512xi8> -> memref<64xf32>
// CHECK:       %q = tir.view %heap_slot offset 0 : memref<512xi8> -> memref<128xf32>
// CHECK:       %r = tir.view %heap_slot_1 offset 0 : memref<256xi8> -> memref<64xf32>
// CHECK-NOT:   tir.free
// CHECK:       tir.return

// KEEP-LABEL: tir.prim_func @k(%x: memref<64xf32>, %y: memref<64xf32>) {
// KEEP:       %[[S1:.*]] = tir.alloc "heap" : memref<512xi8>
// KEEP:       %p = tir.view %[[S1]] offset 0 : memref<512xi8> -> memref<64xf32>
// KEEP:       %q = tir.view %[[S1]] offset 0 : memref<512xi8> -> memref<128xf32>
// KEEP:       %r = tir.alloc "heap" : memref<64xf32>
// KEEP-COUNT-2: tir.free
// KEEP:       tir.return
tir.prim_func @k(%x: memref<64xf32>, %y: memref<64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %p = tir.alloc "heap" : memref<64xf32>
  %q = tir.alloc "heap" : memref<128xf32>
  %r = tir.alloc "heap" : memref<64xf32>
  %unused = tir.alloc "heap" : memref<1024xf32>
  tir.for %i = %c0 to %c64 step %c1 {
    %v = memref.load %x[%i] : memref<64xf32>
    memref.store %v, %p[%i] : memref<64xf32>
  }
  tir.for %i = %c0 to %c64 step %c1 {
    %v = memref.load %p[%i] : memref<64xf32>
    memref.store %v, %r[%i] : memref<64xf32>
  }
  tir.for %i = %c0 to %c64 step %c1 {
    %v = memref.load %r[%i] : memref<64xf32>
    memref.store %v, %q[%i] : memref<128xf32>
  }
  tir.for %i = %c0 to %c64 step %c1 {
    %v = memref.load %q[%i] : memref<128xf32>
    memref.store %v, %y[%i] : memref<64xf32>
  }
  tir.free %p : memref<64xf32>
  tir.free %q : memref<128xf32>
  tir.free %r : memref<64xf32>
  tir.free %unused : memref<1024xf32>
  tir.return
}

// Local (stack) buffers share a slot the same way and stay local; a single-member slot is
// left as it was.
// CHECK-LABEL: tir.prim_func @local
// CHECK:       %local_slot = tir.alloc "local" : memref<128xi8>
// CHECK:       %a = tir.view %local_slot offset 0 : memref<128xi8> -> memref<16xf32>
// CHECK:       %b = tir.view %local_slot offset 0 : memref<128xi8> -> memref<32xi32>
// CHECK-NOT:   tir.view
// CHECK:       tir.return
tir.prim_func @local(%x: memref<16xf32>, %y: memref<16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %a = tir.alloc "local" : memref<16xf32>
  %b = tir.alloc "local" : memref<32xi32>
  tir.for %i = %c0 to %c16 step %c1 {
    %v = memref.load %x[%i] : memref<16xf32>
    memref.store %v, %a[%i] : memref<16xf32>
  }
  tir.for %i = %c0 to %c16 step %c1 {
    %v = memref.load %a[%i] : memref<16xf32>
    memref.store %v, %y[%i] : memref<16xf32>
  }
  tir.for %i = %c0 to %c16 step %c1 {
    %v = memref.load %y[%i] : memref<16xf32>
    %n = arith.fptosi %v : f32 to i32
    memref.store %n, %b[%i] : memref<32xi32>
  }
  tir.for %i = %c0 to %c16 step %c1 {
    %n = memref.load %b[%i] : memref<32xi32>
    %v = arith.sitofp %n : i32 to f32
    memref.store %v, %y[%i] : memref<16xf32>
  }
  tir.return
}

// Each call gets workspace views for the scratch, first-fit among the buffers live at that
// call: %t0 is bytes [0, 256), live at the first two calls; %t1 is [256, 512), live at the
// last two. At the first call the 512-byte slot fits right above %t0; at the second both
// are live and the slots go above them; at the last only %t1 is live, so the 256-byte slot
// fits below it. The workspace grows from 512 to 1280 bytes.
// CHECK-LABEL: tir.prim_func @main
// CHECK-SAME:  xtvm.workspace_bytes = 1280 : i64
// CHECK:       %[[A:.*]] = tir.workspace_buffer offset 256 : memref<512xi8>
// CHECK-NEXT:  %[[B:.*]] = tir.workspace_buffer offset 768 : memref<256xi8>
// CHECK-NEXT:  tir.call @k(%in, %t0, %[[A]], %[[B]])
// CHECK-NEXT:  %[[C:.*]] = tir.workspace_buffer offset 512 : memref<512xi8>
// CHECK-NEXT:  %[[D:.*]] = tir.workspace_buffer offset 1024 : memref<256xi8>
// CHECK-NEXT:  tir.call @k(%t0, %t1, %[[C]], %[[D]])
// CHECK-NEXT:  %[[E:.*]] = tir.workspace_buffer offset 512 : memref<512xi8>
// CHECK-NEXT:  %[[F:.*]] = tir.workspace_buffer offset 0 : memref<256xi8>
// CHECK-NEXT:  tir.call @k(%t1, %out, %[[E]], %[[F]])
// KEEP-LABEL: tir.prim_func @main
// KEEP-SAME:  xtvm.workspace_bytes = 512 : i64
// KEEP-NOT:   tir.workspace_buffer offset 1024
tir.prim_func @main(%in: memref<64xf32>, %out: memref<64xf32>) attributes {xtvm.entry, xtvm.workspace_bytes = 512 : i64} {
  %t0 = tir.workspace_buffer offset 0 : memref<64xf32>
  %t1 = tir.workspace_buffer offset 256 : memref<64xf32>
  tir.call @k(%in, %t0) : memref<64xf32>, memref<64xf32>
  tir.call @k(%t0, %t1) : memref<64xf32>, memref<64xf32>
  tir.call @k(%t1, %out) : memref<64xf32>, memref<64xf32>
  tir.return
}
