// news-transformer's golden parity and batch invariance on each Node backend (the slow tier: seconds on wasm);
// predictor.test.ts runs the same suite on news-bag.
import { describeGoldenParity } from './golden-parity.ts';

describeGoldenParity('news-transformer');
