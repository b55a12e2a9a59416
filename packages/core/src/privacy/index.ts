export { RDP_ORDERS, composeRdp, epsilonOf, roundRdp, sampledGaussianRdp } from './rdp';
