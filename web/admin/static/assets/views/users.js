import {h} from '../dom.js';
export function usersTab(tab) { tab.el.append(h('p', null, 'users')); }
