// RUN: xtvm-opt %s -p convert-tir-to-nvvm | filecheck %s

// The entry becomes the launch plan in the metadata: one launch per tir.call, grid and
// block from the thread loops, each argument an input/output/workspace/constant.
// CHECK:      builtin.module attributes {xtvm.constants = [dense<[1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00]> : tensor<4xf32>], xtvm.metadata = "{{.*}}\22device\22: \22cuda\22, \22launches\22: [{\22kernel\22: \22rev\22, \22grid\22: [2, 1, 1], \22block\22: [256, 1, 1], \22shared_bytes\22: 0, \22args\22: [{\22kind\22: \22input\22, \22index\22: 0, \22offset\22: 0}, {\22kind\22: \22constant\22, \22index\22: 0, \22offset\22: 0}, {\22kind\22: \22workspace\22, \22index\22: 0, \22offset\22: 64}]}, {\22kernel\22: \22rev\22, {{.*}}\22args\22: [{\22kind\22: \22workspace\22, \22index\22: 0, \22offset\22: 64}, {\22kind\22: \22constant\22, \22index\22: 0, \22offset\22: 0}, {\22kind\22: \22output\22, \22index\22: 0, \22offset\22: 0}]}], \22constants\22: [{\22name\22: \22w\22, \22dtype\22: \22float32\22, \22shape\22: [4], \22offset\22: 0, \22nbytes\22: 16}]}"} {
// A shared buffer is a global in address space 3, one per block.
// CHECK-NEXT:   llvm.mlir.global internal @rev_shared_0() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<1024 x i8>
// Kernels are external functions tagged nvvm.kernel with their block shape (PTX .maxntid);
// no xtvm_main is generated.
// CHECK-NEXT:   llvm.func @rev(%{{.*}}: !llvm.ptr {llvm.noalias}, %{{.*}}: !llvm.ptr {llvm.noalias}, %{{.*}}: !llvm.ptr {llvm.noalias}) attributes {nvvm.kernel, nvvm.maxntid = array<i32: 256, 1, 1>} {
// CHECK-NOT:    xtvm_main
// A blockIdx loop is the block's index, a threadIdx loop of the block's width the thread's.
// CHECK:        %[[B32:.*]] = llvm.call_intrinsic "llvm.nvvm.read.ptx.sreg.ctaid.x"() : () -> i32
// CHECK-NEXT:   %[[B:.*]] = llvm.zext %[[B32]] : i32 to i64
// CHECK-NEXT:   %[[SH3:.*]] = llvm.mlir.addressof @rev_shared_0 : !llvm.ptr<3>
// CHECK-NEXT:   %[[SH:.*]] = llvm.addrspacecast %[[SH3]] : !llvm.ptr<3> to !llvm.ptr
// CHECK-NEXT:   %[[T32:.*]] = llvm.call_intrinsic "llvm.nvvm.read.ptx.sreg.tid.x"() : () -> i32
// CHECK-NEXT:   %[[T:.*]] = llvm.zext %[[T32]] : i32 to i64
// CHECK-NOT:    llvm.cond_br
// CHECK:        llvm.getelementptr inbounds %[[SH]][%[[T]]] : (!llvm.ptr, i64) -> !llvm.ptr, f32
// CHECK:        llvm.call_intrinsic "llvm.nvvm.barrier.cta.sync.aligned.all"(%{{.*}}) : (i32) -> ()
// A threadIdx loop narrower than the block runs on the threads below its extent.
// CHECK-NEXT:   %[[U32:.*]] = llvm.call_intrinsic "llvm.nvvm.read.ptx.sreg.tid.x"() : () -> i32
// CHECK-NEXT:   %[[U:.*]] = llvm.zext %[[U32]] : i32 to i64
// CHECK-NEXT:   %[[IN:.*]] = llvm.icmp "ult" %[[U]], %{{.*}} : i64
// CHECK-NEXT:   llvm.cond_br %[[IN]], ^[[BODY:.*]], ^[[DONE:.*]]
// exp without libm: the hardware's base-2 exponential.
// CHECK:        llvm.call_intrinsic "llvm.nvvm.ex2.approx.f"(%{{.*}}) : (f32) -> f32
// CHECK:        llvm.br ^[[DONE]]
// CHECK:        llvm.return

tir.global @w = dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32> : memref<4xf32>

tir.prim_func @rev(%a: memref<512xf32>, %w: memref<4xf32>, %out: memref<512xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c128 = arith.constant 128 : index
  %c255 = arith.constant 255 : index
  %c256 = arith.constant 256 : index
  tir.for %b = %c0 to %c2 step %c1 kind(thread "blockIdx.x") {
    %s = tir.alloc "shared" : memref<256xf32>
    tir.for %t = %c0 to %c256 step %c1 kind(thread "threadIdx.x") {
      %base = arith.muli %b, %c256 : index
      %i = arith.addi %base, %t : index
      %v = memref.load %a[%i] : memref<512xf32>
      memref.store %v, %s[%t] : memref<256xf32>
    }
    tir.barrier
    tir.for %t = %c0 to %c128 step %c1 kind(thread "threadIdx.x") {
      %base = arith.muli %b, %c256 : index
      %i = arith.addi %base, %t : index
      %r = arith.subi %c255, %t : index
      %v = memref.load %s[%r] : memref<256xf32>
      %w0 = memref.load %w[%c0] : memref<4xf32>
      %m = arith.mulf %v, %w0 : f32
      %e = math.exp %m : f32
      memref.store %e, %out[%i] : memref<512xf32>
    }
  }
  tir.return
}

tir.prim_func @main(%x: memref<512xf32>, %y: memref<512xf32>) attributes {xtvm.entry, xtvm.num_inputs = 1 : i64, xtvm.arg_names = ["x", "y"], xtvm.workspace_bytes = 2112 : i64} {
  %ws = tir.workspace_buffer offset 64 : memref<512xf32>
  %w = tir.global_ref @w : memref<4xf32>
  tir.call @rev(%x, %w, %ws) : memref<512xf32>, memref<4xf32>, memref<512xf32>
  tir.call @rev(%ws, %w, %y) : memref<512xf32>, memref<4xf32>, memref<512xf32>
  tir.return
}
