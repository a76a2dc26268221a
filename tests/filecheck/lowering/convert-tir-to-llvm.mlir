// RUN: xtvm-opt %s -p 'convert-tir-to-llvm{parallel_min_work=0}' | filecheck %s

// CHECK:      builtin.module attributes {xtvm.metadata = "{\22inputs\22: [{\22name\22: \22x\22, \22shape\22: [4, 16], \22dtype\22: \22float32\22}], \22outputs\22: [{\22name\22: \22y\22, \22shape\22: [4, 16], \22dtype\22: \22float32\22}], \22workspace_bytes\22: 256}"} {
// CHECK-NEXT:   llvm.mlir.global internal constant @w(dense<[1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00]> : tensor<4xf32>) {addr_space = 0 : i32, alignment = 64 : i64} : !llvm.array<4 x f32>
// CHECK-DAG:    llvm.func @GOMP_parallel(!llvm.ptr, !llvm.ptr, i32, i32)
// CHECK-DAG:    llvm.func @omp_get_thread_num() -> i32
// CHECK-DAG:    llvm.func @omp_get_num_threads() -> i32
tir.global @w = dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32> : memref<4xf32>

// A parallel loop: captured buffers are packed into a stack block, then GOMP_parallel.
// CHECK-LABEL: llvm.func internal @k(%{{.*}}: !llvm.ptr {llvm.noalias}, %{{.*}}: !llvm.ptr {llvm.noalias}, %{{.*}}: !llvm.ptr {llvm.noalias}) {
// CHECK:         %[[N:.*]] = llvm.mlir.constant(8) : i64
// CHECK-NEXT:    llvm.alloca %[[N]] x !llvm.ptr {alignment = 64 : i64} : (i64) -> !llvm.ptr
// CHECK:         %[[DATA:.*]] = llvm.alloca %{{.*}} x !llvm.ptr {alignment = 64 : i64}
// CHECK:         llvm.br ^bb1
// CHECK:         llvm.store %{{.*}}, %{{.*}} {alignment = 8 : i64} : !llvm.ptr, !llvm.ptr
// CHECK:         %[[FN:.*]] = llvm.mlir.addressof @k_parallel_0 : !llvm.ptr
// CHECK:         llvm.call @GOMP_parallel(%[[FN]], %[[DATA]], %{{.*}}, %{{.*}}) : (!llvm.ptr, !llvm.ptr, i32, i32) -> ()
// CHECK-NEXT:    llvm.return
tir.prim_func @k(%a: memref<4x16xf32>, %w: memref<4xf32>, %out: memref<4x16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c16 = arith.constant 16 : index
  %t = tir.alloc "local" : memref<16xf32>
  tir.for %i = %c0 to %c4 step %c1 kind(parallel) {
    %s = memref.load %w[%i] : memref<4xf32>
    tir.for %j = %c0 to %c16 step %c1 {
      %v = memref.load %a[%i, %j] : memref<4x16xf32>
      %m = arith.mulf %v, %s : f32
      %e = math.exp %m : f32
      memref.store %e, %out[%i, %j] : memref<4x16xf32>
    }
  }
  tir.return
}

// Vector loads/stores: one GEP over the element type at the linear index, alignment 4.
// Constants are made once per function, in its first block.
// CHECK-LABEL: llvm.func internal @v(
// CHECK:         %[[OFF:.*]] = llvm.mlir.constant(24) : i64
// CHECK:         llvm.br ^bb1
// CHECK-NEXT:  ^bb1:
// CHECK-NEXT:    %[[P:.*]] = llvm.getelementptr inbounds %{{.*}}[%[[OFF]]] : (!llvm.ptr, i64) -> !llvm.ptr, f32
// CHECK-NEXT:    %[[X:.*]] = llvm.load %[[P]] {alignment = 4 : i64} : !llvm.ptr -> vector<8xf32>
// CHECK-NEXT:    %[[G:.*]] = llvmx.fcmp "ogt" %[[X]], %[[X]] : vector<8xf32> -> vector<8xi1>
// CHECK-NEXT:    %[[Y:.*]] = llvmx.select %[[G]], %[[X]], %[[X]] : vector<8xi1>, vector<8xf32>
// CHECK:         "llvm.intr.vector.reduce.fadd"(%{{.*}}, %[[Y]]) <{fastmathFlags = #llvm.fastmath<reassoc>}> : (f32, vector<8xf32>) -> f32
// CHECK:         llvm.shufflevector %{{.*}}, %{{.*}} [0, 0, 0, 0, 0, 0, 0, 0] : vector<8xf32>
// CHECK:         llvm.store %{{.*}}, %{{.*}} {alignment = 4 : i64} : vector<8xf32>, !llvm.ptr
// scf.if -> cond_br
// CHECK:         %[[C:.*]] = llvm.fcmp "olt" %{{.*}}, %{{.*}} : f32
// CHECK-NEXT:    llvm.cond_br %[[C]], ^[[THEN:.*]], ^[[MERGE:.*]]
// CHECK-NEXT:  ^[[THEN]]:
// CHECK:         llvm.store %{{.*}}, %{{.*}} {alignment = 4 : i64} : f32, !llvm.ptr
// CHECK-NEXT:    llvm.br ^[[MERGE]]
// CHECK-NEXT:  ^[[MERGE]]:
// CHECK-NEXT:    llvm.return
tir.prim_func @v(%a: memref<4x16xf32>, %out: memref<4x16xf32>) {
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %x = vector.load %a[%c1, %c8] : memref<4x16xf32>, vector<8xf32>
  %g = llvmx.fcmp "ogt" %x, %x : vector<8xf32> -> vector<8xi1>
  %y = llvmx.select %g, %x, %x : vector<8xi1>, vector<8xf32>
  %r = vector.reduction <add>, %y : vector<8xf32> into f32
  %b = vector.broadcast %r : f32 to vector<8xf32>
  vector.store %b, %out[%c1, %c8] : memref<4x16xf32>, vector<8xf32>
  %p = arith.cmpf olt, %r, %r : f32
  scf.if %p {
    memref.store %r, %out[%c1, %c1] : memref<4x16xf32>
  }
  tir.return
}

// The entry: buffers from args[k], workspace views as i8 GEPs, weights by address.
// CHECK-LABEL: llvm.func @xtvm_main(
// CHECK-SAME:    %[[ARGS:.*]]: !llvm.ptr, %[[WS:.*]]: !llvm.ptr) -> i32 {
// CHECK-NEXT:    %[[OFF:.*]] = llvm.mlir.constant(0) : i64
// CHECK-NEXT:    %[[Z:.*]] = llvm.mlir.constant(0 : i32) : i32
// CHECK-NEXT:    llvm.br ^bb1
// CHECK:         %[[A0:.*]] = llvm.getelementptr inbounds %[[ARGS]][0] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK-NEXT:    %[[X:.*]] = llvm.load %[[A0]] {alignment = 8 : i64} : !llvm.ptr -> !llvm.ptr
// CHECK-NEXT:    %[[A1:.*]] = llvm.getelementptr inbounds %[[ARGS]][1] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK-NEXT:    %[[Y:.*]] = llvm.load %[[A1]] {alignment = 8 : i64} : !llvm.ptr -> !llvm.ptr
// CHECK-NEXT:    %[[T:.*]] = llvm.getelementptr inbounds %[[WS]][%[[OFF]]] : (!llvm.ptr, i64) -> !llvm.ptr, i8
// CHECK-NEXT:    %[[W:.*]] = llvm.mlir.addressof @w : !llvm.ptr
// CHECK-NEXT:    llvm.call @k(%[[X]], %[[W]], %[[T]]) : (!llvm.ptr, !llvm.ptr, !llvm.ptr) -> ()
// CHECK-NEXT:    llvm.call @v(%[[T]], %[[Y]]) : (!llvm.ptr, !llvm.ptr) -> ()
// CHECK-NEXT:    llvm.return %[[Z]] : i32
tir.prim_func @main(%x: memref<4x16xf32>, %y: memref<4x16xf32>) attributes {xtvm.entry, xtvm.num_inputs = 1 : i64, xtvm.arg_names = ["x", "y"], xtvm.workspace_bytes = 256 : i64} {
  %t = tir.workspace_buffer offset 0 : memref<4x16xf32>
  %w = tir.global_ref @w : memref<4xf32>
  tir.call @k(%x, %w, %t) : memref<4x16xf32>, memref<4xf32>, memref<4x16xf32>
  tir.call @v(%t, %y) : memref<4x16xf32>, memref<4x16xf32>
  tir.return
}

// The trampoline unpacks the block and takes this thread's chunk; the body gets noalias
// buffers and runs the serial loop over [first, last) with a phi for the induction var.
// CHECK-LABEL: llvm.func internal @k_parallel_0(
// CHECK-SAME:    %[[D:.*]]: !llvm.ptr) {
// CHECK:         llvm.getelementptr inbounds %[[D]][0] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK:         llvm.call @omp_get_thread_num() : () -> i32
// CHECK:         llvm.call @omp_get_num_threads() : () -> i32
// CHECK:         llvm.call @k_parallel_0_body(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) : (!llvm.ptr, !llvm.ptr, !llvm.ptr, i64, i64) -> ()
// CHECK-NEXT:    llvm.return
// CHECK-LABEL: llvm.func internal @k_parallel_0_body(
// CHECK-SAME:    %{{.*}}: !llvm.ptr {llvm.noalias}, %{{.*}}: !llvm.ptr {llvm.noalias}, %{{.*}}: !llvm.ptr {llvm.noalias}, %[[FIRST:.*]]: i64, %[[LAST:.*]]: i64) {
// CHECK:         llvm.br ^[[HEAD:.*]](%[[FIRST]] : i64)
// CHECK:       ^[[HEAD]](%[[I:.*]]: i64):
// CHECK-NEXT:    %[[CMP:.*]] = llvm.icmp "slt" %[[I]], %[[LAST]] : i64
// CHECK-NEXT:    llvm.cond_br %[[CMP]], ^{{.*}}, ^{{.*}}
// CHECK:         llvm.intr.exp(%{{.*}}) : (f32) -> f32
