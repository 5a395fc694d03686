// Public entry of the Verify v2 simulator.

export {
  type RunningV2Simulator,
  type StartV2SimulatorOptions,
  startVerifyV2Simulator,
  VerifyV2Simulator,
} from './simulator';
export type {
  CallbackFault,
  CallbackFaultMode,
  V2CallbackRecord,
  V2Channel,
  V2DeliveredMessage,
  V2Fault,
  V2FaultMode,
  V2Operation,
  V2RequestState,
  V2SimulatorOptions,
  WrongCodeMode,
} from './types';
