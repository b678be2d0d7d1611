import {h} from '../dom.js';
/** dataTab is drawn by the data browser (being written). */
export function dataTab(tab) { tab.el.append(h('p', null, 'data')); }
