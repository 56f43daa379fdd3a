import SwapTensor
