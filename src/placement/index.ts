export { selectCandidates, type CandidateSet } from './candidates.js';
export { orderForAny, type ChooseInput, type ChooseResult, type NodeLoad } from './choose.js';
export { PlacementHistory } from './history.js';
