// RUN: xtvm-opt %s --split-input-file --verify-diagnostics | filecheck %s

// CHECK: te.compute: expected 2 axis block arguments, got 1
te.kernel @axis_args {
  %A = te.placeholder "A" : tensor<4x8xf32>
  %B = te.compute "B" : tensor<4x8xf32> {
  ^bb0(%i: index):
    %v = arith.constant 0.0 : f32
    te.yield %v : f32
  }
  te.return %B : tensor<4x8xf32>
}

// -----

// CHECK: te.reduce: kind must be one of sum, max, min, prod, got 'mean'
te.kernel @reduce_kind {
  %A = te.placeholder "A" : tensor<4x8xf32>
  %B = te.compute "B" : tensor<4xf32> {
  ^bb0(%i: index):
    %s = te.reduce "mean" [8] : f32 {
    ^bb1(%k: index):
      %a = te.read %A[%i, %k] : tensor<4x8xf32>
      te.yield %a : f32
    }
    te.yield %s : f32
  }
  te.return %B : tensor<4xf32>
}

// -----

// CHECK: te.compute: a te.reduce must be the yielded value
te.kernel @reduce_not_yielded {
  %A = te.placeholder "A" : tensor<4x8xf32>
  %B = te.compute "B" : tensor<4xf32> {
  ^bb0(%i: index):
    %s = te.reduce "sum" [8] : f32 {
    ^bb1(%k: index):
      %a = te.read %A[%i, %k] : tensor<4x8xf32>
      te.yield %a : f32
    }
    %t = arith.addf %s, %s : f32
    te.yield %t : f32
  }
  te.return %B : tensor<4xf32>
}

// -----

// CHECK: te.kernel: duplicate stage names ['B']
te.kernel @dup_stage {
  %B = te.compute "B" : tensor<4xf32> {
  ^bb0(%i: index):
    %v = arith.constant 0.0 : f32
    te.yield %v : f32
  }
  %C = te.compute "B" : tensor<4xf32> {
  ^bb0(%i: index):
    %v = te.read %B[%i] : tensor<4xf32>
    te.yield %v : f32
  }
  te.return %C : tensor<4xf32>
}

// -----

// CHECK: te.read: 1 indices for a rank-2 tensor
te.kernel @read_rank {
  %A = te.placeholder "A" : tensor<4x8xf32>
  %B = te.compute "B" : tensor<4xf32> {
  ^bb0(%i: index):
    %v = te.read %A[%i] : tensor<4x8xf32>
    te.yield %v : f32
  }
  te.return %B : tensor<4xf32>
}

// -----

// CHECK: te.split: factor must be positive
te.kernel @split_zero {
  %A = te.placeholder "A" : tensor<4xf32>
  %B = te.compute "B" : tensor<4xf32> {
  ^bb0(%i: index):
    %v = te.read %A[%i] : tensor<4xf32>
    te.yield %v : f32
  }
  te.schedule {
    %s = te.stage "B"
    %i = te.axes %s : !te.axis
    %o, %n = te.split %i by 0
  }
  te.return %B : tensor<4xf32>
}

// -----

// CHECK: te.compute: yields i32 but the tensor holds f32
te.kernel @yield_type {
  %B = te.compute "B" : tensor<4xf32> {
  ^bb0(%i: index):
    %v = arith.constant 0 : i32
    te.yield %v : i32
  }
  te.return %B : tensor<4xf32>
}

// -----

// CHECK: te.reduce: extents must not be negative, got [-1]
te.kernel @reduce_extent {
  %A = te.placeholder "A" : tensor<4x8xf32>
  %B = te.compute "B" : tensor<4xf32> {
  ^bb0(%i: index):
    %s = te.reduce "sum" [-1] : f32 {
    ^bb1(%k: index):
      %a = te.read %A[%i, %k] : tensor<4x8xf32>
      te.yield %a : f32
    }
    te.yield %s : f32
  }
  te.return %B : tensor<4xf32>
}

// -----

// CHECK: te.tile: needs two positive factors
te.kernel @tile_factor {
  %A = te.placeholder "A" : tensor<4x4xf32>
  %B = te.compute "B" : tensor<4x4xf32> {
  ^bb0(%i: index, %j: index):
    %v = te.read %A[%i, %j] : tensor<4x4xf32>
    te.yield %v : f32
  }
  te.schedule {
    %s = te.stage "B"
    %i, %j = te.axes %s : !te.axis, !te.axis
    %a, %b, %c, %d = te.tile %i, %j by [4, -1]
  }
  te.return %B : tensor<4x4xf32>
}

// -----

// CHECK: te.fuse: needs at least two axes
te.kernel @fuse_one {
  %A = te.placeholder "A" : tensor<4xf32>
  %B = te.compute "B" : tensor<4xf32> {
  ^bb0(%i: index):
    %v = te.read %A[%i] : tensor<4xf32>
    te.yield %v : f32
  }
  te.schedule {
    %s = te.stage "B"
    %i = te.axes %s : !te.axis
    %f = te.fuse %i
  }
  te.return %B : tensor<4xf32>
}

// -----

// CHECK: te.kernel: at most one te.schedule
te.kernel @two_schedules {
  %A = te.placeholder "A" : tensor<4xf32>
  te.schedule {
    %s = te.stage "A"
  }
  te.schedule {
    %t = te.stage "A"
  }
  te.return %A : tensor<4xf32>
}

// -----

// CHECK: Operation te.placeholder terminates block in single-block region but is not a terminator
te.kernel @no_return {
  %A = te.placeholder "A" : tensor<4xf32>
}

// -----

// CHECK: 'te.stage' expects parent op 'te.schedule'
func.func @stage_outside() {
  %s = te.stage "B"
  func.return
}

// -----

// CHECK: 'te.placeholder' expects parent op 'te.kernel'
func.func @placeholder_outside() {
  %A = te.placeholder "A" : tensor<4xf32>
  func.return
}

// -----

// CHECK: te.bind: thread must be one of blockIdx.x, blockIdx.y, blockIdx.z, threadIdx.x, threadIdx.y, threadIdx.z, got 'laneIdx'
te.kernel @bad_bind {
  %A = te.placeholder "A" : tensor<4xf32>
  te.schedule {
    %s = te.stage "A"
    %i = te.axes %s : !te.axis
    te.bind %i "laneIdx"
  }
  te.return %A : tensor<4xf32>
}

// -----

// CHECK: te.cache_read: scope must be one of shared, local, got 'global'
te.kernel @bad_cache_scope {
  %A = te.placeholder "A" : tensor<4xf32>
  te.schedule {
    %c = te.cache_read "A" in "global"
  }
  te.return %A : tensor<4xf32>
}

// -----

// CHECK: te.cache_write: scope must be one of shared, local, got 'heap'
te.kernel @bad_cache_write_scope {
  %A = te.placeholder "A" : tensor<4xf32>
  te.schedule {
    %s = te.stage "A"
    %c = te.cache_write %s in "heap"
  }
  te.return %A : tensor<4xf32>
}
